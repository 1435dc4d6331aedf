#include "perf/ringperf/statistics.h"

#include <gtest/gtest.h>

#include <cmath>

namespace rs::ringperf {
namespace {

TEST(Statistics, PercentilesInterpolateBetweenClosestRanks) {
  // 10..100: rank p/100 × 9. p50 → 4.5 → 55; p90 → 8.1 → 91; p99 → 8.91 → 99.1.
  const Percentiles p = summarize({100, 10, 90, 20, 80, 30, 70, 40, 60, 50});
  EXPECT_EQ(p.count, 10u);
  EXPECT_DOUBLE_EQ(p.mean, 55);
  EXPECT_DOUBLE_EQ(p.p50, 55);
  EXPECT_DOUBLE_EQ(p.p90, 91);
  EXPECT_DOUBLE_EQ(p.p99, 99.1);
  EXPECT_DOUBLE_EQ(p.max, 100);
  EXPECT_DOUBLE_EQ(p.at(90), 91);
  EXPECT_TRUE(std::isnan(p.at(75)));
}

TEST(Statistics, OneValueIsEveryPercentile) {
  const Percentiles p = summarize({7});
  EXPECT_DOUBLE_EQ(p.p50, 7);
  EXPECT_DOUBLE_EQ(p.p99, 7);
}

TEST(Statistics, UndefinedValuesAreLeftOutAndNoValuesGiveNaN) {
  const Percentiles p = summarize({NAN, 2, NAN, 4});
  EXPECT_EQ(p.count, 2u);
  EXPECT_DOUBLE_EQ(p.p50, 3);
  const Percentiles none = summarize({});
  EXPECT_EQ(none.count, 0u);
  EXPECT_TRUE(std::isnan(none.p50));
  EXPECT_TRUE(std::isnan(none.mean));
}

}  // namespace
}  // namespace rs::ringperf
