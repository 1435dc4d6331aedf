// sentencepiece_bench: the sentencepiece library (Google's own SentencePiece,
// Debian libsentencepiece-dev) on a text file, the peer of tokenize_bench for
// a "llama" vocabulary's tokenizer.model.
//
//   sentencepiece_bench TOKENIZER_MODEL TEXT [--runs N] [--ids OUT]
//
// Times SentencePieceProcessor::Encode(text, &ids) on the whole file: one
// unmeasured warm-up call, then N measured calls; prints the line
// tokenize_bench prints.
#include <sentencepiece_processor.h>

#include "perf/bench_driver.h"

int main(int argc, char** argv) {
  const auto args = rs::perf::parse_bench_args(argc, argv);
  if (!args) {
    std::fprintf(stderr, "usage: sentencepiece_bench TOKENIZER_MODEL TEXT [--runs N] [--ids OUT]\n");
    return 2;
  }
  sentencepiece::SentencePieceProcessor processor;
  if (const auto status = processor.Load(args->tokenizer); !status.ok()) {
    std::fprintf(stderr, "sentencepiece_bench: %s\n", status.ToString().c_str());
    return 1;
  }
  const auto text = rs::perf::read_text(args->text_path);
  if (!text) {
    std::fprintf(stderr, "sentencepiece_bench: cannot read %s\n", args->text_path.c_str());
    return 1;
  }
  std::vector<int> ids;
  const auto timings = rs::perf::time_calls(args->runs, [&] { (void)processor.Encode(*text, &ids); });
  rs::perf::print_result(*args, text->size(), ids.size(), timings);
  rs::perf::write_ids(args->ids_path, ids);
  return 0;
}
