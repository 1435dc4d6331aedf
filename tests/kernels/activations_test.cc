// Activations::prepare on every SIMD target: q8_0 rows bit for bit as
// model::quantize_row makes them, q8_K rows as ggml's quantize_row_q8_K_ref.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "core/kernels/matmul.h"
#include "core/model/half.h"
#include "core/model/quantize.h"
#include "tests/kernels/per_target.h"
#include "tests/kernels/random_matrix.h"

namespace rs::kernels {
namespace {

using model::TensorType;

class ActivationsTest : public PerTarget {};

// Uniform values, plus blocks made to hit roundf's halfway cases: amax 127
// makes d = 1, so x = k + 1/2 must round away from zero.
std::vector<float> test_rows(size_t n, std::mt19937& rng) {
  std::vector<float> x = uniform_floats(n, rng, -3.0f, 3.0f);
  for (size_t i = 0; i < 32; ++i) x[i] = i == 0 ? 127.0f : float(int(i) - 16) + 0.5f;
  for (size_t i = 256; i < 256 + 32; ++i) x[i] = i == 256 ? -127.0f : float(int(i % 32) - 16) + 0.5f;
  std::fill(x.begin() + 512, x.begin() + 768, 0.0f);  // an all-zero q8_K block
  return x;
}

TEST_P(ActivationsTest, Q8_0MatchesModelQuantizeRow) {
  constexpr size_t kCols = 1024 + 32, kTokens = 3;  // 33 blocks: a partial last group
  std::mt19937 rng(7);
  const std::vector<float> x = test_rows(kTokens * kCols, rng);
  Activations a;
  const std::vector<float> earlier = uniform_floats(4 * kCols, rng);  // memory reused: the padding must be rewritten
  a.prepare(TensorType::q4_0, earlier.data(), 4, kCols);
  a.prepare(TensorType::q4_0, x.data(), kTokens, kCols);
  for (size_t t = 0; t < kTokens; ++t) {
    std::vector<model::block_q8_0> expected(kCols / 32);
    model::quantize_row(TensorType::q8_0, x.data() + t * kCols, expected.data(), kCols);
    for (size_t b = 0; b < kCols / 32; ++b) {
      const ActivationGroup& g = *a.group(t, b / kGroupBlocks);
      const size_t j = b % kGroupBlocks;
      ASSERT_EQ(a.q8_scale(t, b * 32), model::fp16_to_fp32(expected[b].d)) << "token " << t << " block " << b;
      ASSERT_EQ(g.scales[j], a.q8_scale(t, b * 32));
      int sum = 0;
      for (size_t i = 0; i < 32; ++i) {
        ASSERT_EQ(a.q8_value(t, b * 32 + i), expected[b].qs[i]) << "token " << t << " value " << b * 32 + i;
        ASSERT_EQ(g.values[i / 4][4 * j + i % 4], expected[b].qs[i]);  // interleaved_rows.h's layout
        sum += expected[b].qs[i];
      }
      EXPECT_EQ(g.sums[j], sum);
    }
    // The last group's 16 - 1 blocks past the row's 33 are zeros, scales and sums too.
    const ActivationGroup& last = *a.group(t, kCols / 32 / kGroupBlocks);
    for (size_t j = kCols / 32 % kGroupBlocks; j < kGroupBlocks; ++j) {
      ASSERT_EQ(last.scales[j], 0.0f);
      ASSERT_EQ(last.sums[j], 0);
      for (size_t k = 0; k < kGroupVectors; ++k) {
        for (size_t i = 0; i < 4; ++i) ASSERT_EQ(last.values[k][4 * j + i], 0);
      }
    }
  }
}

// ggml's quantize_row_q8_K_ref, with its sums per `sub` values scaled by d.
void q8_K_reference(const float* x, size_t sub, int8_t* q, float* scales, float* sums) {
  float max = 0.0f, amax = 0.0f;
  for (size_t j = 0; j < 256; ++j) {
    if (std::fabs(x[j]) > amax) {
      amax = std::fabs(x[j]);
      max = x[j];
    }
  }
  if (amax == 0.0f) {
    std::memset(q, 0, 256);
    std::fill_n(scales, 256 / sub, 0.0f);
    std::fill_n(sums, 256 / sub, 0.0f);
    return;
  }
  const float iscale = -127.0f / max;
  for (size_t j = 0; j < 256; ++j) q[j] = int8_t(std::min(127, int(std::nearbyint(iscale * x[j]))));
  for (size_t s = 0; s < 256 / sub; ++s) {
    int sum = 0;
    for (size_t j = 0; j < sub; ++j) sum += q[s * sub + j];
    scales[s] = 1 / iscale;
    sums[s] = scales[s] * float(sum);
  }
}

TEST_P(ActivationsTest, Q8KMatchesGgmlReference) {
  constexpr size_t kCols = 1024, kTokens = 2;
  std::mt19937 rng(8);
  std::vector<float> x = test_rows(kTokens * kCols, rng);
  // Ties for the largest magnitude: the first one sets the sign.
  x[800] = 3.5f, x[801] = -3.5f, x[810] = 3.5f;
  x[kCols + 800] = -3.5f, x[kCols + 801] = 3.5f;
  for (const TensorType type : {TensorType::q4_k, TensorType::q5_k, TensorType::q6_k}) {
    Activations a;
    a.prepare(type, x.data(), kTokens, kCols);
    const size_t sub = type == TensorType::q6_k ? 16 : 32, subs = 256 / sub;
    ASSERT_EQ(a.sub_block(), sub);
    for (size_t t = 0; t < kTokens; ++t) {
      for (size_t b = 0; b < kCols / 256; ++b) {
        int8_t q[256];
        float scales[16], sums[16];
        q8_K_reference(x.data() + t * kCols + b * 256, sub, q, scales, sums);
        for (size_t i = 0; i < 256; ++i)
          ASSERT_EQ(a.q8_row(t)[b * 256 + i], q[i]) << "token " << t << " value " << b * 256 + i;
        for (size_t s = 0; s < subs; ++s) {
          ASSERT_EQ(a.q8_scales(t)[b * subs + s], scales[s]);
          ASSERT_EQ(a.q8_sums(t)[b * subs + s], sums[s]);
        }
      }
    }
  }
}

TEST_P(ActivationsTest, FloatWeightsReadTheRowsThemselves) {
  const std::vector<float> x(2 * 5, 1.0f);
  Activations a;
  a.prepare(TensorType::bf16, x.data(), 2, 5);
  EXPECT_EQ(a.f32_row(1), x.data() + 5);
  EXPECT_EQ(a.tokens(), 2u);
}

RS_INSTANTIATE_PER_TARGET(ActivationsTest);

}  // namespace
}  // namespace rs::kernels
