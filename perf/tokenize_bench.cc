// tokenize_bench: how fast ringserve's tokenizer turns a text file into ids.
//
//   tokenize_bench VOCAB TEXT [--runs N] [--ids OUT]
//
// Loads the vocabulary (GGUF or Hugging Face directory), then times
// Tokenizer::encode(text, add_special = false, parse_special = false), the
// call the server makes, on the whole file: one unmeasured warm-up call, then
// N measured calls. Prints one line:
//   vocab=... bytes=... tokens=... load_ms=... runs_ms=a,b,... median_ms=... mb_s=... cpu_mb_s=...
// MB = 1e6 bytes; mb_s from the median wall time, cpu_mb_s from the median
// CPU time of the thread (less hurt by other load on the machine); load_ms:
// reading the vocabulary and building the tokenizer. --ids writes the ids, space-separated on one line, for the
// comparison with llama.cpp in perf/tokenize-bench.sh.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "core/tokenizer/tokenizer.h"
#include "core/tokenizer/vocab.h"

namespace {

[[noreturn]] void usage() {
  std::fprintf(stderr, "usage: tokenize_bench VOCAB TEXT [--runs N] [--ids OUT]\n");
  std::exit(2);
}

double thread_cpu_ms() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return double(now.tv_sec) * 1e3 + double(now.tv_nsec) / 1e6;
}

double median_of(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string_view> positional;
  int runs = 7;
  std::string ids_path;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--runs" && i + 1 < argc) {
      runs = std::atoi(argv[++i]);
    } else if (arg == "--ids" && i + 1 < argc) {
      ids_path = argv[++i];
    } else if (arg.starts_with("--")) {
      usage();
    } else {
      positional.push_back(arg);
    }
  }
  if (positional.size() != 2 || runs < 1) usage();

  std::ifstream in{std::string(positional[1]), std::ios::binary};
  if (!in) {
    std::fprintf(stderr, "tokenize_bench: cannot read %s\n", std::string(positional[1]).c_str());
    return 1;
  }
  std::stringstream content;
  content << in.rdbuf();
  const std::string text = content.str();

  const auto load_start = std::chrono::steady_clock::now();
  const rs::tokenizer::Tokenizer tokenizer(rs::tokenizer::read_vocab(std::string(positional[0])));
  const double load_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - load_start).count();

  std::vector<rs::tokenizer::TokenId> ids = tokenizer.encode(text, false, false);  // warm-up
  std::vector<double> ms, cpu_ms;
  for (int run = 0; run < runs; ++run) {
    const double cpu_start = thread_cpu_ms();
    const auto start = std::chrono::steady_clock::now();
    ids = tokenizer.encode(text, false, false);
    const auto stop = std::chrono::steady_clock::now();
    cpu_ms.push_back(thread_cpu_ms() - cpu_start);
    ms.push_back(std::chrono::duration<double, std::milli>(stop - start).count());
  }
  const double median = median_of(ms);

  std::string runs_text;
  for (const double m : ms) {
    char run[32];
    std::snprintf(run, sizeof run, "%s%.2f", runs_text.empty() ? "" : ",", m);
    runs_text += run;
  }
  std::printf("vocab=%s bytes=%zu tokens=%zu load_ms=%.1f runs_ms=%s median_ms=%.2f mb_s=%.2f cpu_mb_s=%.2f\n",
              std::string(positional[0]).c_str(), text.size(), ids.size(), load_ms, runs_text.c_str(), median,
              double(text.size()) / 1e6 / (median / 1e3), double(text.size()) / 1e6 / (median_of(cpu_ms) / 1e3));

  if (!ids_path.empty()) {
    std::ofstream out(ids_path);
    for (size_t i = 0; i < ids.size(); ++i) out << (i ? " " : "") << ids[i];
    out << "\n";
  }
  return 0;
}
