#include "perf/ringperf/sweep.h"

#include <chrono>
#include <cstdio>
#include <stdexcept>

#include <fmt/chrono.h>
#include <fmt/format.h>

#include "perf/ringperf/load_generator.h"
#include "perf/ringperf/progress_line.h"
#include "perf/ringperf/prompt_text.h"
#include "perf/ringperf/server_probe.h"
#include "perf/ringperf/server_url.h"
#include "perf/ringperf/workload.h"

namespace rs::ringperf {

void analyse(RunResults& results) {
  results.inflection = find_inflection(results.points, results.rule);
  results.recommendation = recommend(results.points, results.targets, results.inflection);
  if (results.cost_inputs && !results.points.empty()) {
    results.cost_index = cost_point(results.points, results.inflection, results.cost_basis);
    const PointResult& point = results.points[results.cost_index];
    results.cost = token_cost(point.input_tokens_per_s, point.output_tokens_per_s, *results.cost_inputs);
  }
}

namespace {

bool only_connect_errors(const PointResult& point) {
  return point.succeeded == 0 && point.failed > 0 &&
         point.errors[static_cast<size_t>(ErrorKind::connect)] == point.failed;
}

}  // namespace

RunResults run_sweep(const Scenario& scenario, const RunOptions& options) {
  return run_sweep(scenario, options, parse_server_url(options.url));
}

RunResults run_sweep(const Scenario& scenario, const RunOptions& options, const ServerUrl& server, Clock& clock) {
  RunResults results;
  results.scenario = scenario;
  results.url = options.url;
  results.command_line = options.command_line;
  results.started_at = fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", fmt::gmtime(std::chrono::system_clock::now()));
  results.rule = options.rule;
  results.targets = options.targets;
  results.cost_inputs = options.cost;

  results.model = !options.model.empty() ? options.model : scenario.model;
  if (results.model.empty()) {
    if (auto model = discover_model(server, options.api_key))
      results.model = std::move(*model);
    else
      results.warnings.push_back("GET /v1/models named no model: requests carry no \"model\" field");
  }
  if (auto tokens_per_word = measure_tokens_per_word(server, results.model, options.api_key)) {
    results.tokens_per_word = *tokens_per_word;
    results.tokens_per_word_measured = true;
  } else {
    results.tokens_per_word = kDefaultTokensPerWord;
    results.warnings.push_back(
        fmt::format("the server has no POST /tokenize: prompt lengths assume {} tokens per word (usage still gives the "
                    "true counts)",
                    kDefaultTokensPerWord));
  }

  const std::unique_ptr<Workload> workload =
      Workload::create(scenario.workload, results.tokens_per_word, scenario.endpoint == ApiEndpoint::chat);
  RequestOptions request_options;
  request_options.endpoint = scenario.endpoint;
  request_options.model = results.model;
  request_options.ignore_eos = scenario.ignore_eos;
  request_options.extra_fields = scenario.request_fields;
  request_options.api_key = options.api_key;
  LoadGenerator generator(server, request_options, clock);

  ProgressLine progress(stderr, options.progress);
  const size_t points = scenario.points();
  for (size_t index = 0; index < points && !LoadGenerator::interrupted(); ++index) {
    const PointPlan plan = scenario.plan(index);
    workload->restart();
    PointMeasurements measured =
        generator.run(plan, *workload, [&](const PointProgress& now) { progress.update(index, points, now); });
    PointResult result = summarize_point(plan, measured);
    progress.point_done(index, points, result);
    if (only_connect_errors(result)) {
      throw std::runtime_error(fmt::format("{}: every request failed to connect: {}", describe_load(plan),
                                           result.error_example[static_cast<size_t>(ErrorKind::connect)]));
    }
    if (result.client_cpu > kClientCpuWarning) {
      results.warnings.push_back(
          fmt::format("{}: ringperf used {:.0f}% of a core; near a full core its own delays enter the latencies",
                      describe_load(plan), result.client_cpu * 100));
    }
    if (result.usage_missing > 0) {
      results.warnings.push_back(fmt::format("{}: {} responses had no usage block: their token counts are estimates",
                                             describe_load(plan), result.usage_missing));
    }
    const bool nothing_finished = result.succeeded + result.failed == 0;
    if (nothing_finished) {
      results.warnings.push_back(fmt::format(
          "{}: no request finished in the window ({} still in flight when it closed): the server may be stuck, or "
          "its requests outlast duration_seconds; the sweep stopped here",
          describe_load(plan), result.unfinished));
    } else if (result.succeeded < 10) {
      results.warnings.push_back(fmt::format(
          "{}: only {} requests succeeded in the window: its percentiles are rough (lengthen duration_seconds)",
          describe_load(plan), result.succeeded));
    }
    results.points.push_back(std::move(result));
    results.measurements.push_back(std::move(measured));
    if (nothing_finished) break;  // more load on a server that finishes nothing measures nothing
  }
  if (LoadGenerator::interrupted()) {
    results.warnings.push_back(
        fmt::format("interrupted: {} of {} points measured, the last one cut short", results.points.size(), points));
  }
  analyse(results);
  return results;
}

}  // namespace rs::ringperf
