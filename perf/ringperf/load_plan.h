#pragma once
// How one sweep point loads the server: the shape, its level, and how long.
#include <cstdint>

namespace rs::ringperf {

enum class LoadShape {
  closed,   // a fixed number of users, each sending its next request when the last one ends
  poisson,  // open loop: requests arrive at a rate, with exponential gaps, whatever the server does
};

struct PointPlan {
  LoadShape shape = LoadShape::closed;
  int concurrency = 1;    // closed: users
  double rate = 0;        // poisson: requests per second
  double warmup_s = 0;    // load runs, nothing is measured
  double duration_s = 0;  // the measurement window; 0: until `requests` have finished
  int64_t requests = 0;   // ends the window once this many requests finished in it (0: no limit)
  double request_timeout_s = 300;
  int max_connections = 1024;  // poisson: connections open at once; an arrival beyond them is dropped
  uint64_t arrival_seed = 1;   // poisson: the gaps' seed
};

// The level a point is plotted and reported at: users or requests per second.
inline double load_level(const PointPlan& plan) {
  return plan.shape == LoadShape::closed ? plan.concurrency : plan.rate;
}

}  // namespace rs::ringperf
