#include "perf/ringperf/analysis.h"

#include <cmath>
#include <limits>

#include <fmt/format.h>

namespace rs::ringperf {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// later/earlier − 1; a latency that became undefined (nothing succeeded) counts as an unbounded rise.
double rise(double earlier, double later) {
  if (std::isnan(earlier) || earlier <= 0) return kNaN;
  if (std::isnan(later)) return std::numeric_limits<double>::infinity();
  return later / earlier - 1;
}

}  // namespace

std::optional<Inflection> find_inflection(const std::vector<PointResult>& points, const InflectionRule& rule) {
  for (size_t i = 0; i + 1 < points.size(); ++i) {
    const PointResult& here = points[i];
    const PointResult& next = points[i + 1];
    if (here.output_tokens_per_s <= 0 || here.level <= 0 || next.level <= here.level) continue;
    const double load_growth = next.level / here.level - 1;
    const double efficiency = (next.output_tokens_per_s / here.output_tokens_per_s - 1) / load_growth;
    const double ntpot_rise = rise(here.ntpot.p50, next.ntpot.p50);
    const double ttft_rise = rise(here.ttft.p50, next.ttft.p50);
    const bool ntpot_larger = std::isnan(ttft_rise) || (!std::isnan(ntpot_rise) && ntpot_rise >= ttft_rise);
    const double latency_rise = ntpot_larger ? ntpot_rise : ttft_rise;
    if (efficiency < rule.max_throughput_efficiency && latency_rise > rule.min_latency_rise) {
      return Inflection{i, efficiency, latency_rise, ntpot_larger ? "NTPOT" : "TTFT"};
    }
  }
  return std::nullopt;
}

bool meets_targets(const PointResult& point, const Targets& targets) {
  if (point.succeeded == 0 || point.error_fraction() > targets.max_error_fraction) return false;
  const auto within = [&](const Percentiles& latency, const std::optional<double>& target) {
    return !target || latency.at(targets.percentile) <= *target;  // NaN compares false: not met
  };
  return within(point.ntpot, targets.ntpot_ms) && within(point.ttft, targets.ttft_ms);
}

std::string describe_load(const PointPlan& plan) {
  if (plan.shape == LoadShape::closed) return fmt::format("concurrency {}", plan.concurrency);
  return fmt::format("{:g} req/s", plan.rate);
}

Recommendation recommend(const std::vector<PointResult>& points, const Targets& targets,
                         const std::optional<Inflection>& inflection) {
  Recommendation result;
  if (!targets.any()) {
    if (inflection) {
      result.index = inflection->index;
      result.reason = "no latency targets given: the inflection point, the last load that still bought throughput";
    } else {
      result.reason =
          "no latency targets given and no inflection point found; give --target-ntpot-ms or "
          "--target-ttft-ms, or extend the sweep";
    }
    return result;
  }
  std::string wanted;
  if (targets.ntpot_ms) wanted += fmt::format("NTPOT p{} ≤ {:g} ms", targets.percentile, *targets.ntpot_ms);
  if (targets.ttft_ms) {
    wanted += fmt::format("{}TTFT p{} ≤ {:g} ms", wanted.empty() ? "" : " and ", targets.percentile, *targets.ttft_ms);
  }
  wanted += fmt::format(" with at most {:g}% errors", targets.max_error_fraction * 100);
  for (size_t i = points.size(); i-- > 0;) {
    if (meets_targets(points[i], targets)) {
      result.index = i;
      result.reason = fmt::format("the largest sweep point with {}", wanted);
      return result;
    }
  }
  result.reason = fmt::format("no sweep point has {}", wanted);
  return result;
}

TokenCost token_cost(double input_tokens_per_s, double output_tokens_per_s, const CostInputs& inputs) {
  const double dollars_per_s = inputs.gpu_dollars_per_hour / 3600.0;
  const double weighted_tokens_per_s = input_tokens_per_s / inputs.output_input_cost_ratio + output_tokens_per_s;
  if (!(weighted_tokens_per_s > 0)) return TokenCost{kNaN, kNaN};
  const double per_output = dollars_per_s / weighted_tokens_per_s;
  return TokenCost{per_output / inputs.output_input_cost_ratio * 1e6, per_output * 1e6};
}

size_t cost_point(const std::vector<PointResult>& points, const std::optional<Inflection>& inflection,
                  std::string& basis) {
  if (inflection) {
    basis = "the inflection point";
    return inflection->index;
  }
  size_t best = 0;
  for (size_t i = 1; i < points.size(); ++i) {
    if (points[i].output_tokens_per_s > points[best].output_tokens_per_s) best = i;
  }
  basis = "the point with the most output throughput (no inflection point found)";
  return best;
}

}  // namespace rs::ringperf
