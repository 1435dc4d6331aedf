#pragma once
// The files a run leaves in its output folder. Each writer throws
// std::runtime_error naming the file when it cannot be written.
#include <cstdio>
#include <string>

#include "perf/ringperf/run_results.h"

namespace rs::ringperf {

// results.json: the scenario, every point's figures, the analysis, warnings.
void write_results_json(const RunResults& results, const std::string& path);
// results.csv: one row per sweep point.
void write_results_csv(const RunResults& results, const std::string& path);
// requests.csv: one row per measured request, for analyses of your own.
void write_requests_csv(const RunResults& results, const std::string& path);

// latency-throughput.{dat,gp} and, when gnuplot is installed, .png.
struct ChartOutcome {
  bool png_written = false;
  std::string note;  // how it went, or how to render it by hand
};
ChartOutcome write_chart(const RunResults& results, const std::string& directory);

// report.md: the run in words and tables.
void write_report(const RunResults& results, const ChartOutcome& chart, const std::string& path);

// Opens `path` for writing or throws.
class OutputFile {
 public:
  explicit OutputFile(const std::string& path);
  ~OutputFile();
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;
  // Writes and closes; throws if anything failed.
  void write(const std::string& contents);

 private:
  std::string path_;
  std::FILE* file_;
};

}  // namespace rs::ringperf
