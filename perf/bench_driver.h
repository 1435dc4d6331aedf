#pragma once
// What tokenize_bench and its peers share: one command line
// (TOKENIZER TEXT [--runs N] [--ids OUT]), the timing loop and the output line,
// so that their figures are taken and printed the same way.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace rs::perf {

struct BenchArgs {
  std::string tokenizer;  // the vocabulary or model file
  std::string text_path;
  int runs = 7;
  std::string ids_path;  // where to write the ids; empty: nowhere
};

// nullopt for a command line that does not parse (the caller prints usage).
inline std::optional<BenchArgs> parse_bench_args(int argc, char** argv) {
  BenchArgs args;
  std::vector<std::string> positional;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--runs" && i + 1 < argc) {
      args.runs = std::atoi(argv[++i]);
    } else if (arg == "--ids" && i + 1 < argc) {
      args.ids_path = argv[++i];
    } else if (arg.starts_with("--")) {
      return std::nullopt;
    } else {
      positional.emplace_back(arg);
    }
  }
  if (positional.size() != 2 || args.runs < 1) return std::nullopt;
  args.tokenizer = positional[0];
  args.text_path = positional[1];
  return args;
}

// The whole file, or nullopt when it cannot be read.
inline std::optional<std::string> read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

inline double median_of(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

// Wall and thread-CPU milliseconds of each of `runs` calls, after one unmeasured warm-up call.
struct Timings {
  std::vector<double> wall_ms, cpu_ms;
};

template <typename Call>
Timings time_calls(int runs, Call call) {
  const auto thread_cpu_ms = [] {
    timespec now{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
    return double(now.tv_sec) * 1e3 + double(now.tv_nsec) / 1e6;
  };
  call();
  Timings t;
  for (int run = 0; run < runs; ++run) {
    const double cpu_start = thread_cpu_ms();
    const auto start = std::chrono::steady_clock::now();
    call();
    const auto stop = std::chrono::steady_clock::now();
    t.cpu_ms.push_back(thread_cpu_ms() - cpu_start);
    t.wall_ms.push_back(std::chrono::duration<double, std::milli>(stop - start).count());
  }
  return t;
}

// The line every driver prints (MB = 1e6 bytes): mb_s from the median wall
// time, cpu_mb_s from the median CPU time of the thread, less hurt by other load.
inline void print_result(const BenchArgs& args, size_t bytes, size_t tokens, const Timings& t,
                         const std::string& extra = "") {
  std::string runs;
  for (const double ms : t.wall_ms) {
    char run[32];
    std::snprintf(run, sizeof run, "%s%.2f", runs.empty() ? "" : ",", ms);
    runs += run;
  }
  const double median = median_of(t.wall_ms);
  std::printf("vocab=%s bytes=%zu tokens=%zu%s runs_ms=%s median_ms=%.2f mb_s=%.2f cpu_mb_s=%.2f\n",
              args.tokenizer.c_str(), bytes, tokens, extra.c_str(), runs.c_str(), median,
              double(bytes) / 1e6 / (median / 1e3), double(bytes) / 1e6 / (median_of(t.cpu_ms) / 1e3));
}

// The ids, space-separated on one line, for perf/tokenize-bench.sh's comparison.
template <typename Id>
void write_ids(const std::string& path, const std::vector<Id>& ids) {
  if (path.empty()) return;
  std::ofstream out(path);
  for (size_t i = 0; i < ids.size(); ++i) out << (i ? " " : "") << ids[i];
  out << "\n";
}

}  // namespace rs::perf
