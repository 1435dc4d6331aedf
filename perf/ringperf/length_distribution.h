#pragma once
// Token-length distributions given by a few quantiles and the mean, as GKE
// publishes ShareGPT's: min / median / mean / p90 / p99 / max.
//
// The fit: the inverse CDF is piecewise log-linear (log length linear in the
// probability) through knots at p = 0, .5, .9, .99 and 1 placed on the given
// quantiles, plus one knot at p = .75 whose length is solved (bisection) so
// that the distribution's mean is the given mean. The quantiles hold by
// construction; log-linear pieces give the long right tail these lengths
// have, and the extra knot fixes the mass between median and p90 that no
// quantile pins down. A lognormal through median and p90 would miss p99, max
// and the mean at once.
#include <array>
#include <utility>

#include "perf/ringperf/seeded_random.h"

namespace rs::ringperf {

struct LengthQuantiles {
  double min, p50, mean, p90, p99, max;
};

// GKE Inference Quickstart's ShareGPT benchmark lengths, in tokens.
constexpr LengthQuantiles kShareGptInput{4, 108, 226, 635, 887, 1024};
constexpr LengthQuantiles kShareGptOutput{1, 132, 195, 488, 778, 1024};

class LengthDistribution {
 public:
  // `scale` multiplies every length (for models with small contexts); lengths stay at least 1.
  explicit LengthDistribution(const LengthQuantiles& quantiles, double scale = 1.0);

  double quantile(double p) const;  // the inverse CDF, continuous
  double mean() const;              // of the continuous distribution
  // A length: the inverse CDF at a uniform draw, rounded, at least 1.
  int sample(Rng& rng) const;

  using Knot = std::pair<double, double>;  // (probability, length)
  const std::array<Knot, 6>& knots() const { return knots_; }

 private:
  std::array<Knot, 6> knots_;
};

}  // namespace rs::ringperf
