#include "perf/ringperf/length_distribution.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace rs::ringperf {
namespace {

constexpr size_t kSolvedKnot = 2;  // the knot at p = .75

// The mean of exp(x) for x uniform between log(a) and log(b): (b − a) / (ln b − ln a).
double log_mean(double a, double b) {
  if (std::abs(b - a) <= 1e-9 * std::max(a, b)) return a;
  return (b - a) / (std::log(b) - std::log(a));
}

double mean_of(const std::array<LengthDistribution::Knot, 6>& knots) {
  double mean = 0;
  for (size_t i = 0; i + 1 < knots.size(); ++i) {
    mean += (knots[i + 1].first - knots[i].first) * log_mean(knots[i].second, knots[i + 1].second);
  }
  return mean;
}

}  // namespace

LengthDistribution::LengthDistribution(const LengthQuantiles& q, double scale) {
  const auto scaled = [scale](double length) { return std::max(1.0, length * scale); };
  if (!(q.min <= q.p50 && q.p50 <= q.p90 && q.p90 <= q.p99 && q.p99 <= q.max && q.min > 0)) {
    throw std::invalid_argument("length quantiles must be positive and non-decreasing");
  }
  knots_ = {Knot{0.0, scaled(q.min)}, Knot{0.5, scaled(q.p50)},  Knot{0.75, scaled(q.p50)},
            Knot{0.9, scaled(q.p90)}, Knot{0.99, scaled(q.p99)}, Knot{1.0, scaled(q.max)}};
  // The mean rises with the solved knot's length, which may lie between the median and p90;
  // a mean outside what that range allows gets the nearest end.
  const double target = scaled(q.mean);
  double low = knots_[1].second, high = knots_[3].second;
  for (int i = 0; i < 100; ++i) {
    knots_[kSolvedKnot].second = 0.5 * (low + high);
    if (mean_of(knots_) < target)
      low = knots_[kSolvedKnot].second;
    else
      high = knots_[kSolvedKnot].second;
  }
}

double LengthDistribution::quantile(double p) const {
  p = std::clamp(p, 0.0, 1.0);
  size_t i = 1;
  while (i + 1 < knots_.size() && knots_[i].first < p) ++i;
  const auto [p0, v0] = knots_[i - 1];
  const auto [p1, v1] = knots_[i];
  const double t = p1 > p0 ? (p - p0) / (p1 - p0) : 0.0;
  return std::exp(std::log(v0) + t * (std::log(v1) - std::log(v0)));
}

double LengthDistribution::mean() const { return mean_of(knots_); }

int LengthDistribution::sample(Rng& rng) const {
  return std::max(1, static_cast<int>(std::lround(quantile(uniform01(rng)))));
}

}  // namespace rs::ringperf
