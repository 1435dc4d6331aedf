#pragma once
// The arrival times of an open-loop point: a Poisson process, so the gaps are
// exponential with mean 1/rate. Seeded: the same seed gives the same gaps in
// units of 1/rate, so every rate of a sweep sees the same pattern, scaled.
#include <cstdint>

#include "perf/ringperf/seeded_random.h"

namespace rs::ringperf {

class PoissonArrivals {
 public:
  PoissonArrivals(double rate_per_s, uint64_t seed) : mean_gap_ns_(1e9 / rate_per_s), rng_(seed) {}
  int64_t next_gap_ns() { return static_cast<int64_t>(exponential1(rng_) * mean_gap_ns_); }

 private:
  double mean_gap_ns_;
  Rng rng_;
};

}  // namespace rs::ringperf
