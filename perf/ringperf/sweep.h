#pragma once
// A whole run: ask the server what it serves, then every sweep point of the
// scenario in turn (each from the same request sequence), then the analysis.
#include <optional>
#include <string>

#include "perf/ringperf/analysis.h"
#include "perf/ringperf/clock.h"
#include "perf/ringperf/run_results.h"
#include "perf/ringperf/scenario.h"
#include "perf/ringperf/server_url.h"

namespace rs::ringperf {

struct RunOptions {
  std::string url;
  std::string api_key;
  std::string model;  // overrides the scenario's and the server's
  Targets targets;
  InflectionRule rule;
  std::optional<CostInputs> cost;
  std::string command_line;  // recorded in the outputs
  bool progress = true;      // the live line on stderr (the per-point lines are always printed)
};

// Fills a run's inflection point, recommendation and cost from its points and settings.
void analyse(RunResults& results);

// Throws std::runtime_error when the server cannot be reached, a prompt file
// cannot be used, or a point could not connect at all.
RunResults run_sweep(const Scenario& scenario, const RunOptions& options);
// The same against `server` (options.url only names it in the results), timed by `clock`.
RunResults run_sweep(const Scenario& scenario, const RunOptions& options, const ServerUrl& server,
                     Clock& clock = system_clock());

}  // namespace rs::ringperf
