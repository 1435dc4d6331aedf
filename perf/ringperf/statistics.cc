#include "perf/ringperf/statistics.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace rs::ringperf {

double Percentiles::at(int percentile) const {
  switch (percentile) {
    case 50: return p50;
    case 90: return p90;
    case 99: return p99;
    default: return std::numeric_limits<double>::quiet_NaN();
  }
}

double percentile_of_sorted(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return std::numeric_limits<double>::quiet_NaN();
  const double rank = p / 100.0 * static_cast<double>(sorted.size() - 1);
  const size_t below = static_cast<size_t>(std::floor(rank));
  const size_t above = std::min(below + 1, sorted.size() - 1);
  return sorted[below] + (rank - static_cast<double>(below)) * (sorted[above] - sorted[below]);
}

Percentiles summarize(std::vector<double> values) {
  std::erase_if(values, [](double v) { return std::isnan(v); });
  Percentiles result;
  result.count = values.size();
  if (values.empty()) return result;
  std::sort(values.begin(), values.end());
  result.mean = std::accumulate(values.begin(), values.end(), 0.0) / static_cast<double>(values.size());
  result.p50 = percentile_of_sorted(values, 50);
  result.p90 = percentile_of_sorted(values, 90);
  result.p99 = percentile_of_sorted(values, 99);
  result.max = values.back();
  return result;
}

}  // namespace rs::ringperf
