#pragma once
// Everything a run produced: the scenario, every point's figures and raw
// requests, and the analysis. The output writers read only this.
#include <optional>
#include <string>
#include <vector>

#include "perf/ringperf/analysis.h"
#include "perf/ringperf/point_result.h"
#include "perf/ringperf/request_record.h"
#include "perf/ringperf/scenario.h"

namespace rs::ringperf {

struct RunResults {
  Scenario scenario;
  std::string url;
  std::string model;  // as sent in requests; empty: none sent
  std::string command_line;
  std::string started_at;  // UTC, ISO 8601
  double tokens_per_word = 0;
  bool tokens_per_word_measured = false;  // by the server's /tokenize, else a default

  std::vector<PointResult> points;
  std::vector<PointMeasurements> measurements;  // the raw requests of each point

  InflectionRule rule;
  std::optional<Inflection> inflection;
  Targets targets;
  Recommendation recommendation;
  std::optional<CostInputs> cost_inputs;  // none: no --gpu-dollars-per-hour, no cost table
  std::optional<TokenCost> cost;
  size_t cost_index = 0;
  std::string cost_basis;

  std::vector<std::string> warnings;  // for the report and the end of the run
};

}  // namespace rs::ringperf
