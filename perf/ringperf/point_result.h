#pragma once
// One sweep point's figures: latency percentiles, throughput, errors. Every
// output (JSON, CSV, report, chart) and the analysis read these.
#include <array>
#include <cstdint>
#include <string>

#include "perf/ringperf/load_plan.h"
#include "perf/ringperf/request_record.h"
#include "perf/ringperf/statistics.h"

namespace rs::ringperf {

struct PointResult {
  PointPlan plan;
  double level = 0;  // users (closed) or requests per second offered (poisson)
  double window_s = 0;
  int64_t succeeded = 0;
  int64_t failed = 0;
  std::array<int64_t, kErrorKindCount> errors{};           // by ErrorKind
  std::array<std::string, kErrorKindCount> error_example;  // the first detail of each kind
  int64_t unfinished = 0;
  int64_t usage_missing = 0;  // succeeded without a usage block: token counts are estimates
  // Per second of the window, over requests that succeeded in it.
  double requests_per_s = 0;
  double input_tokens_per_s = 0;
  double output_tokens_per_s = 0;
  // Milliseconds.
  Percentiles ttft, tpot, ntpot, itl, e2e;
  double mean_prompt_tokens = 0;
  double mean_output_tokens = 0;
  double mean_in_flight = 0;
  int64_t max_in_flight = 0;
  double client_cpu = 0;  // ringperf's share of one core over the window

  double error_fraction() const {
    return succeeded + failed == 0 ? 0.0 : static_cast<double>(failed) / static_cast<double>(succeeded + failed);
  }
};

PointResult summarize_point(const PointPlan& plan, const PointMeasurements& measured);

}  // namespace rs::ringperf
