// The per-row operations on every SIMD target against double precision:
// ‖y − reference‖ / ‖reference‖ < 1e-5, the KV rows dequantized exactly.
#include "core/kernels/ops.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "core/model/quantize.h"
#include "tests/kernels/per_target.h"
#include "tests/kernels/random_matrix.h"

namespace rs::kernels {
namespace {

using model::TensorType;

constexpr double kTolerance = 1e-5;
constexpr size_t kLengths[] = {1, 7, 64, 100, 1000, 4099};

double relative_error(const std::vector<float>& got, const std::vector<double>& want) {
  double error = 0.0, norm = 0.0;
  for (size_t i = 0; i < got.size(); ++i) {
    error += (got[i] - want[i]) * (got[i] - want[i]);
    norm += want[i] * want[i];
  }
  return std::sqrt(error / norm);
}

class Ops : public PerTarget {};

TEST_P(Ops, RmsNorm) {
  std::mt19937 rng(1);
  for (const size_t n : kLengths) {
    const std::vector<float> x = uniform_floats(n, rng, -4.0f, 4.0f), weight = uniform_floats(n, rng, 0.5f, 1.5f);
    std::vector<float> out(n);
    rms_norm(x.data(), weight.data(), 1e-5f, n, out.data());
    double squares = 0.0;
    for (const float v : x) squares += double(v) * v;
    const double scale = 1.0 / std::sqrt(squares / double(n) + 1e-5);
    std::vector<double> want(n);
    for (size_t i = 0; i < n; ++i) want[i] = x[i] * scale * weight[i];
    EXPECT_LT(relative_error(out, want), kTolerance) << "n " << n;
  }
}

TEST_P(Ops, SwiGlu) {
  std::mt19937 rng(2);
  for (const size_t n : kLengths) {
    std::vector<float> gate = uniform_floats(n, rng, -20.0f, 20.0f);
    const std::vector<float> up = uniform_floats(n, rng);
    if (n >= 64) gate[3] = -1000.0f, gate[4] = -100.0f, gate[5] = 100.0f, gate[6] = 0.0f;  // past exp's range
    std::vector<double> want(n);
    for (size_t i = 0; i < n; ++i) want[i] = gate[i] / (1.0 + std::exp(-double(gate[i]))) * up[i];
    swiglu(gate.data(), up.data(), n);
    EXPECT_LT(relative_error(gate, want), kTolerance) << "n " << n;
    for (const float g : gate) ASSERT_TRUE(std::isfinite(g));
  }
}

TEST_P(Ops, AddIsExact) {
  std::mt19937 rng(3);
  for (const size_t n : kLengths) {
    std::vector<float> x = uniform_floats(n, rng);
    const std::vector<float> y = uniform_floats(n, rng), before = x;
    add(x.data(), y.data(), n);
    for (size_t i = 0; i < n; ++i) ASSERT_EQ(x[i], before[i] + y[i]);
  }
}

TEST_P(Ops, Softmax) {
  std::mt19937 rng(4);
  for (const size_t n : kLengths) {
    std::vector<float> x = uniform_floats(n, rng, -30.0f, 30.0f);
    if (n > 1) x[n / 2] = -std::numeric_limits<float>::infinity();  // a masked position
    double max = -INFINITY, sum = 0.0;
    for (const float v : x) max = std::max(max, double(v));
    for (const float v : x) sum += std::exp(v - max);
    std::vector<double> want(n);
    for (size_t i = 0; i < n; ++i) want[i] = std::exp(x[i] - max) / sum;
    softmax(x.data(), n);
    EXPECT_LT(relative_error(x, want), kTolerance) << "n " << n;
    if (n > 1) {
      EXPECT_EQ(x[n / 2], 0.0f);
    }
  }
}

// Dot products and axpys over many KV rows of each cache type.
TEST_P(Ops, KvRows) {
  std::mt19937 rng(5);
  for (const TensorType type : {TensorType::f32, TensorType::f16, TensorType::q8_0}) {
    for (const size_t n : {size_t{64}, size_t{128}, size_t{96}, size_t{100}}) {
      if (type == TensorType::q8_0 && n % 32 != 0) continue;
      SCOPED_TRACE(std::string(model::info(type).name) + " n " + std::to_string(n));
      constexpr size_t kRows = 40;
      const RandomMatrix kv = random_matrix(type, kRows, n, rng);
      const std::vector<float> q = uniform_floats(n, rng);
      constexpr float kScale = 0.125f;
      std::vector<float> dots(kRows), scores(kRows), y(n, 0.0f);
      std::vector<double> want_dots(kRows), want_y(n, 0.0);
      for (size_t r = 0; r < kRows; ++r) {
        const std::vector<float> row = kv.dequantized_row(r);
        for (size_t i = 0; i < n; ++i) want_dots[r] += kScale * double(q[i]) * row[i];
        scores[r] = float(r % 7) * 0.25f - 0.5f;
        for (size_t i = 0; i < n; ++i) want_y[i] += double(scores[r]) * row[i];
      }
      dot_kv_rows(type, q.data(), kv.bytes.data(), kv.row_bytes, kRows, n, kScale, dots.data());
      axpy_kv_rows(type, scores.data(), kv.bytes.data(), kv.row_bytes, kRows, y.data(), n);
      EXPECT_LT(relative_error(dots, want_dots), kTolerance);
      EXPECT_LT(relative_error(y, want_y), kTolerance);
    }
  }
}

// Argument checks, made before a kernel is dispatched: the same on every target.
TEST(OpsChecks, KvRowsRejectOtherTypes) {
  const float q[64] = {};
  const std::byte row[64 * 4] = {};
  float score;
  EXPECT_THROW(dot_kv_rows(TensorType::q4_0, q, row, 36, 1, 64, 1.0f, &score), std::invalid_argument);
  EXPECT_THROW(dot_kv_rows(TensorType::q8_0, q, row, 52, 1, 48, 1.0f, &score), std::invalid_argument);
}

RS_INSTANTIATE_PER_TARGET(Ops);

}  // namespace
}  // namespace rs::kernels
