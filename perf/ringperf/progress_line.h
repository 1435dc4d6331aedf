#pragma once
// The live one-line progress display: rewritten in place (\r) on a terminal,
// a plain line every few seconds otherwise (logs, CI); and one permanent line
// per finished point either way.
#include <cstdint>
#include <cstdio>

#include "perf/ringperf/load_generator.h"
#include "perf/ringperf/point_result.h"

namespace rs::ringperf {

class ProgressLine {
 public:
  // `enabled` false: only the per-point lines.
  ProgressLine(std::FILE* out, bool enabled);

  void update(size_t point, size_t points, const PointProgress& progress);
  void point_done(size_t point, size_t points, const PointResult& result);

 private:
  void clear();

  std::FILE* out_;
  bool enabled_;
  bool tty_;
  int64_t last_print_ns_ = 0;
  size_t shown_width_ = 0;  // of the line on screen, to erase it
};

// ringperf's share of a core above which its own measurements are suspect.
constexpr double kClientCpuWarning = 0.8;

}  // namespace rs::ringperf
