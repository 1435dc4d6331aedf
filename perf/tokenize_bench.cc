// tokenize_bench: how fast ringserve's tokenizer turns a text file into ids.
//
//   tokenize_bench VOCAB TEXT [--runs N] [--ids OUT]
//
// Loads the vocabulary (GGUF or Hugging Face directory), then times
// Tokenizer::encode(text, add_special = false, parse_special = false), the
// call the server makes, on the whole file: one unmeasured warm-up call, then
// N measured calls. Prints one line:
//   vocab=... bytes=... tokens=... load_ms=... runs_ms=a,b,... median_ms=... mb_s=... cpu_mb_s=...
// load_ms: reading the vocabulary and building the tokenizer. --ids writes the
// ids for the comparison with llama.cpp in perf/tokenize-bench.sh.
#include <fmt/format.h>

#include "core/tokenizer/tokenizer.h"
#include "core/tokenizer/vocab.h"
#include "perf/bench_driver.h"

int main(int argc, char** argv) {
  const auto args = rs::perf::parse_bench_args(argc, argv);
  if (!args) {
    std::fprintf(stderr, "usage: tokenize_bench VOCAB TEXT [--runs N] [--ids OUT]\n");
    return 2;
  }
  const auto text = rs::perf::read_text(args->text_path);
  if (!text) {
    std::fprintf(stderr, "tokenize_bench: cannot read %s\n", args->text_path.c_str());
    return 1;
  }
  const auto load_start = std::chrono::steady_clock::now();
  const rs::tokenizer::Tokenizer tokenizer(rs::tokenizer::read_vocab(args->tokenizer));
  const double load_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - load_start).count();

  std::vector<rs::tokenizer::TokenId> ids;
  const auto timings = rs::perf::time_calls(args->runs, [&] { ids = tokenizer.encode(*text, false, false); });
  rs::perf::print_result(*args, text->size(), ids.size(), timings, fmt::format(" load_ms={:.1f}", load_ms));
  rs::perf::write_ids(args->ids_path, ids);
  return 0;
}
