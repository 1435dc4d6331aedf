// Sign sketches: deterministic per seed, Hamming distance tracking the angle as θ/π per bit, and the radius as the
// binomial tail (the values computed apart, in Python, by summing the tail term by term).
#include "cache/sign_sketch.h"

#include "tests/cache/unit_vectors.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <numbers>
#include <random>
#include <stdexcept>
#include <vector>

namespace rs::cache {
namespace {

uint32_t hamming(const Sketch& a, const Sketch& b) {
  uint32_t distance = 0;
  for (uint32_t word = 0; word < kSketchWords; ++word) distance += std::popcount(a[word] ^ b[word]);
  return distance;
}

TEST(SignSketch, SameSeedSameSketchesAnotherSeedOthers) {
  std::mt19937_64 random(1);
  const std::vector<float> vector = testing::random_unit(random, 384);
  const SignSketcher a(384, 7), b(384, 7), c(384, 8);
  EXPECT_EQ(a.sketch(vector), b.sketch(vector));
  EXPECT_GT(hamming(a.sketch(vector), c.sketch(vector)), 64u);  // independent planes: about half the bits differ
}

TEST(SignSketch, OppositeVectorsDifferInEveryBit) {
  std::mt19937_64 random(2);
  std::vector<float> vector = testing::random_unit(random, 64);
  const SignSketcher sketcher(64, 1);
  const Sketch sketch = sketcher.sketch(vector);
  for (float& x : vector) x = -x;
  EXPECT_EQ(hamming(sketch, sketcher.sketch(vector)), kSketchBits);
}

TEST(SignSketch, HammingDistanceTracksTheAngle) {
  constexpr int kPairs = 400;
  std::mt19937_64 random(3);
  const SignSketcher sketcher(384, 11);
  for (const double cosine : {0.0, 0.5, 0.9, 0.95, 0.99}) {
    double total = 0;
    for (int pair = 0; pair < kPairs; ++pair) {
      const std::vector<float> u = testing::random_unit(random, 384);
      total += hamming(sketcher.sketch(u), sketcher.sketch(testing::at_cosine(u, cosine, random)));
    }
    const double p = std::acos(cosine) / std::numbers::pi;
    const double expected = kSketchBits * p;
    const double standard_error = std::sqrt(kSketchBits * p * (1 - p) / kPairs);
    EXPECT_NEAR(total / kPairs, expected, 6 * standard_error + 0.5) << "cosine " << cosine;
  }
}

TEST(SignSketch, RadiusIsTheBinomialUpperTail) {
  // The least r with P(Binomial(n, acos(s)/π) > r) < q.
  EXPECT_EQ(hamming_radius(256, 0.95, 1e-9), 59u);
  EXPECT_EQ(hamming_radius(256, 0.95, 0.5e-9), 60u);
  EXPECT_EQ(hamming_radius(128, 0.95, 0.5e-9), 38u);
  EXPECT_EQ(hamming_radius(64, 0.95, 0.5e-9), 25u);
  EXPECT_EQ(hamming_radius(256, 0.9, 0.5e-9), 75u);
  EXPECT_EQ(hamming_radius(256, 0.99, 0.5e-9), 37u);
  EXPECT_EQ(hamming_radius(256, 1.0, 1e-9), 0u);   // identical vectors never differ
  EXPECT_EQ(hamming_radius(256, -1.0, 1e-9), 256u);
}

TEST(SignSketch, RefusesAVectorOfTheWrongLength) {
  const SignSketcher sketcher(8, 1);
  EXPECT_THROW(sketcher.sketch(std::vector<float>(7, 1.0f)), std::invalid_argument);
}

}  // namespace
}  // namespace rs::cache
