#include "perf/ringperf/length_distribution.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <vector>

namespace rs::ringperf {
namespace {

// Quantile by rank ⌈p·n⌉ of sorted samples.
double sample_quantile(const std::vector<int>& sorted, double p) {
  const size_t rank = std::min(sorted.size() - 1, static_cast<size_t>(p * static_cast<double>(sorted.size())));
  return sorted[rank];
}

void expect_fits(const LengthQuantiles& q, double scale) {
  const LengthDistribution distribution(q, scale);
  // The continuous fit passes through every given quantile and has the given mean.
  EXPECT_NEAR(distribution.quantile(0), q.min * scale, 1e-9);
  EXPECT_NEAR(distribution.quantile(0.5), q.p50 * scale, 1e-9);
  EXPECT_NEAR(distribution.quantile(0.9), q.p90 * scale, 1e-9);
  EXPECT_NEAR(distribution.quantile(0.99), q.p99 * scale, 1e-9);
  EXPECT_NEAR(distribution.quantile(1), q.max * scale, 1e-9);
  EXPECT_NEAR(distribution.mean(), q.mean * scale, 1e-6 * q.mean);

  // And so do samples drawn from it, within sampling error and rounding.
  Rng rng(7);
  std::vector<int> samples(200'000);
  for (int& sample : samples) sample = distribution.sample(rng);
  std::sort(samples.begin(), samples.end());
  const double mean = std::accumulate(samples.begin(), samples.end(), 0.0) / static_cast<double>(samples.size());
  EXPECT_NEAR(mean, q.mean * scale, 0.01 * q.mean * scale);
  EXPECT_NEAR(sample_quantile(samples, 0.5), q.p50 * scale, 0.02 * q.p50 * scale + 1);
  EXPECT_NEAR(sample_quantile(samples, 0.9), q.p90 * scale, 0.02 * q.p90 * scale + 1);
  EXPECT_NEAR(sample_quantile(samples, 0.99), q.p99 * scale, 0.02 * q.p99 * scale + 1);
  EXPECT_GE(samples.front(), std::max(1.0, std::round(q.min * scale)));
  EXPECT_LE(samples.back(), std::round(q.max * scale));
}

TEST(LengthDistribution, ShareGptInputLengthsFitGkesQuantilesAndMean) { expect_fits(kShareGptInput, 1.0); }
TEST(LengthDistribution, ShareGptOutputLengthsFitGkesQuantilesAndMean) { expect_fits(kShareGptOutput, 1.0); }
TEST(LengthDistribution, ScaledLengthsKeepTheShape) { expect_fits(kShareGptInput, 0.5); }

TEST(LengthDistribution, TheSameSeedGivesTheSameLengths) {
  const LengthDistribution distribution(kShareGptOutput);
  Rng a(42), b(42);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(distribution.sample(a), distribution.sample(b));
}

}  // namespace
}  // namespace rs::ringperf
