#include "perf/ringperf/analysis.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace rs::ringperf {
namespace {

// A closed-loop point with the figures the analysis reads.
PointResult point(int users, double output_tps, double ntpot_p50, double ttft_p50, double p90_factor = 1.2) {
  PointResult p;
  p.plan.shape = LoadShape::closed;
  p.plan.concurrency = users;
  p.level = users;
  p.succeeded = 100;
  p.output_tokens_per_s = output_tps;
  p.input_tokens_per_s = output_tps * 2;
  p.ntpot.p50 = ntpot_p50;
  p.ntpot.p90 = ntpot_p50 * p90_factor;
  p.ttft.p50 = ttft_p50;
  p.ttft.p90 = ttft_p50 * p90_factor;
  return p;
}

PointResult rate_point(double rate, double output_tps, double ntpot_p50, double ttft_p50) {
  PointResult p = point(0, output_tps, ntpot_p50, ttft_p50);
  p.plan.shape = LoadShape::poisson;
  p.plan.rate = rate;
  p.level = rate;
  return p;
}

TEST(Inflection, TheKneeIsTheLastPointBeforeThroughputFlattensAndLatencyRises) {
  const std::vector<PointResult> points = {point(1, 100, 10, 50),   point(2, 195, 10.3, 52), point(4, 370, 10.8, 55),
                                           point(8, 600, 13.3, 70), point(16, 690, 23, 140), point(32, 700, 45, 600)};
  // 8 → 16: +15% throughput for +100% load (efficiency 0.15 < 0.2) while NTPOT rises 73% and TTFT 100% (> 20%).
  const auto knee = find_inflection(points, InflectionRule{});
  ASSERT_TRUE(knee);
  EXPECT_EQ(knee->index, 3u);
  EXPECT_NEAR(knee->throughput_efficiency, 0.15, 1e-12);
  EXPECT_NEAR(knee->latency_rise, 1.0, 1e-12);
  EXPECT_EQ(knee->latency_metric, "TTFT");  // the larger rise
}

TEST(Inflection, BothConditionsAreNeeded) {
  // Latency rises but throughput keeps scaling: not yet saturated.
  EXPECT_FALSE(find_inflection({point(1, 100, 10, 50), point(2, 190, 13, 70), point(4, 350, 17, 90)}, {}));
  // Throughput flat but latency flat too (a client-side limit, say): no knee either.
  EXPECT_FALSE(find_inflection({point(1, 100, 10, 50), point(2, 105, 10.5, 52)}, {}));
  EXPECT_FALSE(find_inflection({}, {}));
  EXPECT_FALSE(find_inflection({point(1, 100, 10, 50)}, {}));
}

TEST(Inflection, ComparesThroughputGrowthWithTheLoadStep) {
  // Rates 10 → 11 req/s is a 10% step: 8% more throughput is efficiency 0.8, fine, though under 10% in itself.
  EXPECT_FALSE(find_inflection({rate_point(10, 1000, 10, 50), rate_point(11, 1080, 12.5, 60)}, {}));
  // 11 → 12 gives 1%: efficiency 0.11 with TTFT up 50%.
  const auto knee = find_inflection(
      {rate_point(10, 1000, 10, 50), rate_point(11, 1080, 12.5, 60), rate_point(12, 1090.8, 13, 90)}, {});
  ASSERT_TRUE(knee);
  EXPECT_EQ(knee->index, 1u);
  // A stricter rule moves it: no step qualifies with efficiency below 0.05.
  EXPECT_FALSE(
      find_inflection({rate_point(10, 1000, 10, 50), rate_point(11, 1080, 12.5, 60), rate_point(12, 1090.8, 13, 90)},
                      InflectionRule{0.05, 0.2}));
}

TEST(Inflection, APointWhereEverythingFailedIsPastTheKnee) {
  PointResult broken = point(8, 0, NAN, NAN);
  broken.succeeded = 0;
  broken.failed = 50;
  const auto knee = find_inflection({point(2, 200, 10, 50), point(4, 400, 10, 50), broken}, {});
  ASSERT_TRUE(knee);
  EXPECT_EQ(knee->index, 1u);
  EXPECT_TRUE(std::isinf(knee->latency_rise));
}

TEST(Recommendation, LargestPointMeetingTheTargets) {
  const std::vector<PointResult> points = {point(1, 100, 10, 50), point(2, 195, 10.3, 52), point(4, 370, 10.8, 55),
                                           point(8, 600, 13.3, 70), point(16, 690, 23, 140)};
  Targets targets;
  targets.ntpot_ms = 16;  // p90 = 1.2 × p50: 8 users give 15.96
  EXPECT_EQ(recommend(points, targets, std::nullopt).index, 3u);
  targets.ttft_ms = 70;  // TTFT p90 of 8 users is 84: 4 users (66) is the largest left
  EXPECT_EQ(recommend(points, targets, std::nullopt).index, 2u);
  targets.percentile = 50;  // at p50, 8 users meet both (13.3 and 70)
  EXPECT_EQ(recommend(points, targets, std::nullopt).index, 3u);
  targets.ntpot_ms = 1;
  const Recommendation none = recommend(points, targets, std::nullopt);
  EXPECT_FALSE(none.index);
  EXPECT_NE(none.reason.find("no sweep point"), std::string::npos);
}

TEST(Recommendation, APointWithErrorsDoesNotQualify) {
  std::vector<PointResult> points = {point(1, 100, 10, 50), point(2, 200, 10, 50)};
  points[1].failed = 3;  // 3 of 103 failed: 2.9% > 1%
  Targets targets;
  targets.ntpot_ms = 100;
  EXPECT_EQ(recommend(points, targets, std::nullopt).index, 0u);
}

TEST(Recommendation, WithoutTargetsItIsTheInflectionPoint) {
  const std::vector<PointResult> points = {point(1, 100, 10, 50), point(2, 200, 10, 50), point(4, 210, 20, 100)};
  const auto knee = find_inflection(points, {});
  ASSERT_TRUE(knee);
  EXPECT_EQ(recommend(points, Targets{}, knee).index, 1u);
  EXPECT_FALSE(recommend(points, Targets{}, std::nullopt).index);
}

TEST(Cost, GkesFormulaByHand) {
  // $3.60/hour = $0.001/s. 1000 input and 500 output tokens/s at ratio 4: 1000/4 + 500 = 750 weighted tokens/s,
  // so $/output token = 0.001 / 750 = $1.3333e-6 → $1.3333 per million; input: ÷ 4 → $0.3333 per million.
  const TokenCost cost = token_cost(1000, 500, CostInputs{3.6, 4});
  EXPECT_NEAR(cost.dollars_per_million_output, 4.0 / 3.0, 1e-12);
  EXPECT_NEAR(cost.dollars_per_million_input, 1.0 / 3.0, 1e-12);

  // $7.20/hour = $0.002/s; ratio 1 prices both alike: 0.002 / (300 + 100) = $5 per million each.
  const TokenCost even = token_cost(300, 100, CostInputs{7.2, 1});
  EXPECT_NEAR(even.dollars_per_million_output, 5, 1e-12);
  EXPECT_NEAR(even.dollars_per_million_input, 5, 1e-12);

  // Output only: $2.88/hour = $0.0008/s over 400 tokens/s = $2 per million output, $0.25 per million input at ratio 8.
  const TokenCost output_only = token_cost(0, 400, CostInputs{2.88, 8});
  EXPECT_NEAR(output_only.dollars_per_million_output, 2, 1e-12);
  EXPECT_NEAR(output_only.dollars_per_million_input, 0.25, 1e-12);

  EXPECT_TRUE(std::isnan(token_cost(0, 0, CostInputs{1, 4}).dollars_per_million_output));
}

TEST(Cost, PricedAtTheInflectionElseAtTheMostThroughput) {
  const std::vector<PointResult> points = {point(1, 100, 10, 50), point(2, 300, 10, 50), point(4, 250, 10, 50)};
  std::string basis;
  EXPECT_EQ(cost_point(points, Inflection{0, 0, 0, "NTPOT"}, basis), 0u);
  EXPECT_EQ(basis, "the inflection point");
  EXPECT_EQ(cost_point(points, std::nullopt, basis), 1u);
}

}  // namespace
}  // namespace rs::ringperf
