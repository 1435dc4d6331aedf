#pragma once
// What a sweep's curve says: where throughput stops paying for latency (the
// inflection point), how much load to allow (the recommendation), and what a
// token costs there (GKE Inference Quickstart's formula).
#include <optional>
#include <string>
#include <vector>

#include "perf/ringperf/point_result.h"

namespace rs::ringperf {

// The inflection point is the first sweep point i after which the next step
// both
//   - raises output tokens/s by less than `max_throughput_efficiency` of the
//     load's growth: (T[i+1]/T[i] − 1) / (L[i+1]/L[i] − 1) < 0.2 by default,
//     so doubling the users adds less than 20% throughput, and
//   - raises the median NTPOT or the median TTFT by more than
//     `min_latency_rise`: max(NTPOT50[i+1]/NTPOT50[i], TTFT50[i+1]/TTFT50[i]) − 1 > 0.2.
// T is output tokens/s, L the load level (users, or offered requests/s). Point
// i is the knee: the last load that still bought throughput. Comparing growth
// to the load's step makes the rule hold for any sweep spacing.
struct InflectionRule {
  double max_throughput_efficiency = 0.2;
  double min_latency_rise = 0.2;
};

struct Inflection {
  size_t index = 0;
  double throughput_efficiency = 0;  // of the step after it
  double latency_rise = 0;           // of the step after it
  std::string latency_metric;        // "NTPOT" or "TTFT": which rose more
};

std::optional<Inflection> find_inflection(const std::vector<PointResult>& points, const InflectionRule& rule);

// Latency targets a point must meet, at one percentile, with at most
// max_error_fraction of its requests failed.
struct Targets {
  std::optional<double> ntpot_ms;
  std::optional<double> ttft_ms;
  int percentile = 90;
  double max_error_fraction = 0.01;

  bool any() const { return ntpot_ms || ttft_ms; }
};

bool meets_targets(const PointResult& point, const Targets& targets);

// The largest sweep point meeting the targets; without targets, the inflection point.
struct Recommendation {
  std::optional<size_t> index;
  std::string reason;  // one sentence: why this point, or why none
};

Recommendation recommend(const std::vector<PointResult>& points, const Targets& targets,
                         const std::optional<Inflection>& inflection);

// GKE's cost per token from a GPU's price and a throughput:
//   $/output token = GPU $/s ÷ (input tokens/s ÷ ratio + output tokens/s)
//   $/input token  = $/output token ÷ ratio
// where ratio is how many times an output token costs an input token (GKE's default: 4).
struct CostInputs {
  double gpu_dollars_per_hour = 0;
  double output_input_cost_ratio = 4.0;
};

struct TokenCost {
  double dollars_per_million_input = 0;
  double dollars_per_million_output = 0;
};

// NaN costs when there was no throughput.
TokenCost token_cost(double input_tokens_per_s, double output_tokens_per_s, const CostInputs& inputs);

// The point the cost table is priced at: the inflection point, else the point
// with the most output throughput. `basis` says which.
size_t cost_point(const std::vector<PointResult>& points, const std::optional<Inflection>& inflection,
                  std::string& basis);

// "concurrency 8" or "4 req/s": a point's load, as reports name it.
std::string describe_load(const PointPlan& plan);

}  // namespace rs::ringperf
