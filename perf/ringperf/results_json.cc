#include <cmath>
#include <iterator>

#include <fmt/format.h>

#include "core/base/json_write.h"
#include "perf/ringperf/outputs.h"

namespace rs::ringperf {
namespace {

// JSON has no NaN: an undefined figure is null.
std::string number(double value) { return std::isfinite(value) ? fmt::format("{}", value) : "null"; }

std::string percentiles(const Percentiles& p) {
  return fmt::format(R"({{"count":{},"mean":{},"p50":{},"p90":{},"p99":{},"max":{}}})", p.count, number(p.mean),
                     number(p.p50), number(p.p90), number(p.p99), number(p.max));
}

// "concurrency":4 or "rate":2.5: the level under its own name.
std::string load_fields(const PointPlan& plan) {
  return plan.shape == LoadShape::closed ? fmt::format(R"("shape":"closed","concurrency":{})", plan.concurrency)
                                         : fmt::format(R"("shape":"poisson","rate":{})", plan.rate);
}

std::string point_json(const PointResult& p) {
  std::string errors, examples;
  for (const ErrorKind kind : kErrorKinds) {
    const auto k = static_cast<size_t>(kind);
    errors += fmt::format("{}{}:{}", errors.empty() ? "" : ",", json::quote(error_kind_name(kind)), p.errors[k]);
    if (p.errors[k] > 0) {
      examples += fmt::format("{}{}:{}", examples.empty() ? "" : ",", json::quote(error_kind_name(kind)),
                              json::quote(p.error_example[k]));
    }
  }
  return fmt::format(
      R"({{{},"window_s":{},"succeeded":{},"failed":{},"unfinished":{},"usage_missing":{},)"
      R"("errors":{{{}}},"error_examples":{{{}}},)"
      R"("requests_per_s":{},"input_tokens_per_s":{},"output_tokens_per_s":{},)"
      R"("ttft_ms":{},"tpot_ms":{},"ntpot_ms":{},"itl_ms":{},"e2e_ms":{},)"
      R"("mean_prompt_tokens":{},"mean_output_tokens":{},"mean_in_flight":{},"max_in_flight":{},"client_cpu":{}}})",
      load_fields(p.plan), number(p.window_s), p.succeeded, p.failed, p.unfinished, p.usage_missing, errors, examples,
      number(p.requests_per_s), number(p.input_tokens_per_s), number(p.output_tokens_per_s), percentiles(p.ttft),
      percentiles(p.tpot), percentiles(p.ntpot), percentiles(p.itl), percentiles(p.e2e), number(p.mean_prompt_tokens),
      number(p.mean_output_tokens), number(p.mean_in_flight), p.max_in_flight, number(p.client_cpu));
}

std::string optional_number(const std::optional<double>& value) { return value ? number(*value) : "null"; }

}  // namespace

void write_results_json(const RunResults& r, const std::string& path) {
  std::string out = "{\n";
  const auto field = [&](std::string_view name, const std::string& value) {
    fmt::format_to(std::back_inserter(out), "  {}: {},\n", json::quote(name), value);
  };
  field("started_at", json::quote(r.started_at));
  field("command", json::quote(r.command_line));
  field("url", json::quote(r.url));
  field("model", r.model.empty() ? "null" : json::quote(r.model));
  field("scenario_path", json::quote(r.scenario.path));
  field("scenario", r.scenario.source_json);
  field("tokens_per_word", number(r.tokens_per_word));
  field("tokens_per_word_measured", r.tokens_per_word_measured ? "true" : "false");

  out += "  \"points\": [\n";
  for (size_t i = 0; i < r.points.size(); ++i) {
    fmt::format_to(std::back_inserter(out), "    {}{}\n", point_json(r.points[i]), i + 1 < r.points.size() ? "," : "");
  }
  out += "  ],\n";

  field("inflection_rule", fmt::format(R"({{"max_throughput_efficiency":{},"min_latency_rise":{}}})",
                                       number(r.rule.max_throughput_efficiency), number(r.rule.min_latency_rise)));
  if (r.inflection) {
    const PointResult& p = r.points[r.inflection->index];
    field("inflection", fmt::format(R"({{"index":{},{},"output_tokens_per_s":{},"throughput_efficiency":{},)"
                                    R"("latency_rise":{},"latency_metric":{}}})",
                                    r.inflection->index, load_fields(p.plan), number(p.output_tokens_per_s),
                                    number(r.inflection->throughput_efficiency), number(r.inflection->latency_rise),
                                    json::quote(r.inflection->latency_metric)));
  } else {
    field("inflection", "null");
  }
  field("targets", fmt::format(R"({{"ntpot_ms":{},"ttft_ms":{},"percentile":{},"max_error_fraction":{}}})",
                               optional_number(r.targets.ntpot_ms), optional_number(r.targets.ttft_ms),
                               r.targets.percentile, number(r.targets.max_error_fraction)));
  const auto& rec = r.recommendation;
  field("recommendation",
        fmt::format(R"({{"index":{},{}"reason":{}}})", rec.index ? std::to_string(*rec.index) : "null",
                    rec.index ? load_fields(r.points[*rec.index].plan) + "," : "", json::quote(rec.reason)));
  if (r.cost && r.cost_inputs) {
    field("cost",
          fmt::format(R"({{"gpu_dollars_per_hour":{},"output_input_cost_ratio":{},"index":{},{},"basis":{},)"
                      R"("dollars_per_million_input_tokens":{},"dollars_per_million_output_tokens":{}}})",
                      number(r.cost_inputs->gpu_dollars_per_hour), number(r.cost_inputs->output_input_cost_ratio),
                      r.cost_index, load_fields(r.points[r.cost_index].plan), json::quote(r.cost_basis),
                      number(r.cost->dollars_per_million_input), number(r.cost->dollars_per_million_output)));
  } else {
    field("cost", "null");
  }
  std::string warnings;
  for (const std::string& warning : r.warnings) {
    if (!warnings.empty()) warnings += ',';
    warnings += json::quote(warning);
  }
  fmt::format_to(std::back_inserter(out), "  \"warnings\": [{}]\n}}\n", warnings);
  OutputFile(path).write(out);
}

}  // namespace rs::ringperf
