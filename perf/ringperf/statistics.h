#pragma once
// Percentiles of latency samples.
#include <cstddef>
#include <limits>
#include <vector>

namespace rs::ringperf {

struct Percentiles {
  size_t count = 0;
  double mean = std::numeric_limits<double>::quiet_NaN();
  double p50 = std::numeric_limits<double>::quiet_NaN();
  double p90 = std::numeric_limits<double>::quiet_NaN();
  double p99 = std::numeric_limits<double>::quiet_NaN();
  double max = std::numeric_limits<double>::quiet_NaN();

  // 50, 90 or 99; NaN for any other.
  double at(int percentile) const;
};

// The p-th percentile (0–100) of sorted values by linear interpolation between
// the closest ranks: rank p/100 × (n − 1), as numpy's default and Hyndman and
// Fan's type 7. NaN for no values.
double percentile_of_sorted(const std::vector<double>& sorted, double p);

// NaN values (undefined for a request, e.g. TPOT of a one-token answer) are left out.
Percentiles summarize(std::vector<double> values);

}  // namespace rs::ringperf
