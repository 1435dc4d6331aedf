// sentencepiece_bench: the sentencepiece library (Google's own SentencePiece,
// Debian libsentencepiece-dev) on a text file, the peer of tokenize_bench for
// a "llama" vocabulary's tokenizer.model.
//
//   sentencepiece_bench TOKENIZER_MODEL TEXT [--runs N] [--ids OUT]
//
// Times SentencePieceProcessor::Encode(text, &ids) on the whole file: one
// unmeasured warm-up call, then N measured calls; prints the line
// tokenize_bench prints (MB = 1e6 bytes).
#include <sentencepiece_processor.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

int main(int argc, char** argv) {
  std::vector<std::string> positional;
  int runs = 7;
  std::string ids_path;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--runs" && i + 1 < argc) {
      runs = std::atoi(argv[++i]);
    } else if (arg == "--ids" && i + 1 < argc) {
      ids_path = argv[++i];
    } else {
      positional.emplace_back(arg);
    }
  }
  if (positional.size() != 2 || runs < 1) {
    std::fprintf(stderr, "usage: sentencepiece_bench TOKENIZER_MODEL TEXT [--runs N] [--ids OUT]\n");
    return 2;
  }
  sentencepiece::SentencePieceProcessor processor;
  if (const auto status = processor.Load(positional[0]); !status.ok()) {
    std::fprintf(stderr, "sentencepiece_bench: %s\n", status.ToString().c_str());
    return 1;
  }
  std::ifstream in(positional[1], std::ios::binary);
  std::stringstream content;
  content << in.rdbuf();
  const std::string text = content.str();

  std::vector<int> ids;
  (void)processor.Encode(text, &ids);  // warm-up
  std::vector<double> ms;
  for (int run = 0; run < runs; ++run) {
    const auto start = std::chrono::steady_clock::now();
    (void)processor.Encode(text, &ids);
    const auto stop = std::chrono::steady_clock::now();
    ms.push_back(std::chrono::duration<double, std::milli>(stop - start).count());
  }
  std::vector<double> sorted = ms;
  std::sort(sorted.begin(), sorted.end());
  const double median = sorted.size() % 2 ? sorted[sorted.size() / 2]
                                          : (sorted[sorted.size() / 2 - 1] + sorted[sorted.size() / 2]) / 2;
  std::string runs_text;
  for (const double m : ms) {
    char run[32];
    std::snprintf(run, sizeof run, "%s%.2f", runs_text.empty() ? "" : ",", m);
    runs_text += run;
  }
  std::printf("vocab=%s bytes=%zu tokens=%zu runs_ms=%s median_ms=%.2f mb_s=%.2f\n", positional[0].c_str(),
              text.size(), ids.size(), runs_text.c_str(), median, double(text.size()) / 1e6 / (median / 1e3));
  if (!ids_path.empty()) {
    std::ofstream out(ids_path);
    for (size_t i = 0; i < ids.size(); ++i) out << (i ? " " : "") << ids[i];
    out << "\n";
  }
  return 0;
}
