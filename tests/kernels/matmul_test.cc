// matmul on every SIMD target and weight type against a double-precision
// reference: the dequantized weights (model::dequantize_row) times the exact
// f32 activations, so activation quantization counts as error.
#include "core/kernels/matmul.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "core/model/half.h"
#include "core/model/quantize.h"
#include "tests/kernels/per_target.h"
#include "tests/kernels/random_matrix.h"

namespace rs::kernels {
namespace {

using model::TensorType;

struct TypeCase {
  TensorType type;
  size_t cols;       // not a multiple of the SIMD width where the type allows
  double tolerance;  // on ‖y − reference‖ / ‖reference‖
};

void PrintTo(const TypeCase& c, std::ostream* os) { *os << model::info(c.type).name; }

constexpr TypeCase kTypes[] = {
    {TensorType::f32, 301, 1e-5},  {TensorType::f16, 301, 1e-3},  {TensorType::bf16, 301, 1e-3},
    {TensorType::q8_0, 352, 1e-2}, {TensorType::q4_0, 352, 1e-2}, {TensorType::q4_k, 512, 1e-2},
    {TensorType::q5_k, 512, 1e-2}, {TensorType::q6_k, 512, 1e-2},
};
constexpr size_t kTokenCounts[] = {1, 3, 8, 33, 64, 512};

// Rows [kBegin, kEnd) of kRows, written with a stride past the last row: the
// rest of y must stay untouched.
constexpr size_t kRows = 23, kBegin = 3, kEnd = 22, kStride = kRows + 5;

class Matmul : public ::testing::TestWithParam<std::tuple<int64_t, TypeCase>> {
 protected:
  TypeCase type() const { return std::get<1>(GetParam()); }

 private:
  ForceTarget target_{std::get<0>(GetParam())};
};

// Σ_i weight[r][i] · x(t, i) in double for every row and token.
template <class X>
std::vector<double> reference(const RandomMatrix& w, size_t n_tokens, X x) {
  std::vector<double> y(n_tokens * w.rows);
  for (size_t r = 0; r < w.rows; ++r) {
    const std::vector<float> row = w.dequantized_row(r);
    for (size_t t = 0; t < n_tokens; ++t) {
      double sum = 0.0;
      for (size_t i = 0; i < w.cols; ++i) sum += double(row[i]) * x(t, i);
      y[t * w.rows + r] = sum;
    }
  }
  return y;
}

// ‖y − expected‖ / ‖expected‖ over rows [begin, end) of `rows`, y's stride `stride`.
double relative_error(const std::vector<float>& y, const std::vector<double>& expected, size_t n_tokens,
                      size_t rows = kRows, size_t begin = kBegin, size_t end = kEnd, size_t stride = kStride) {
  double error = 0.0, norm = 0.0;
  for (size_t t = 0; t < n_tokens; ++t) {
    for (size_t r = begin; r < end; ++r) {
      const double got = y[t * stride + r], want = expected[t * rows + r];
      error += (got - want) * (got - want);
      norm += want * want;
    }
  }
  return std::sqrt(error / norm);
}

TEST_P(Matmul, MatchesDoubleReference) {
  std::mt19937 rng(uint32_t(type().type) * 7919 + 1);
  const RandomMatrix w = random_matrix(type().type, kRows, type().cols, rng);
  Activations prepared;
  for (const size_t n_tokens : kTokenCounts) {
    SCOPED_TRACE("n_tokens " + std::to_string(n_tokens));
    const std::vector<float> x = uniform_floats(n_tokens * w.cols, rng);
    prepared.prepare(w.type, x.data(), n_tokens, w.cols);
    std::vector<float> y(n_tokens * kStride, std::numeric_limits<float>::quiet_NaN());
    matmul(w.matrix(), prepared, y.data(), kStride, kBegin, kEnd);
    for (size_t t = 0; t < n_tokens; ++t) {
      for (size_t r = 0; r < kStride; ++r) {
        const bool written = r >= kBegin && r < kEnd;
        ASSERT_EQ(std::isfinite(y[t * kStride + r]), written) << "row " << r << " token " << t;
      }
    }

    const auto exact_x = [&](size_t t, size_t i) { return double(x[t * w.cols + i]); };
    EXPECT_LT(relative_error(y, reference(w, n_tokens, exact_x), n_tokens), type().tolerance);
    if (prepared.sub_block() != 0) {  // the kernel's arithmetic alone, on the activations it was given
      const auto quantized_x = [&](size_t t, size_t i) {
        return double(prepared.q8_scale(t, i)) * prepared.q8_value(t, i);
      };
      EXPECT_LT(relative_error(y, reference(w, n_tokens, quantized_x), n_tokens), 1e-5);
    }
  }
}

// Bit-exact integer sums: with power-of-two scales every float operation is
// exact, so the kernel must give exactly Σ_blocks d_w · d_x · Σ q_w q_x (ggml's
// vec_dot with its integer block sums) whatever order it adds in.
// Many tokens over wide rows: the kernels take the tokens in blocks that fit
// L2 (512 KiB of activations), each block meeting every row.
class MatmulBlocks : public PerTarget {};

TEST_P(MatmulBlocks, ManyTokensOverWideRows) {
  constexpr size_t kWideRows = 5, kCols = 4096, kTokens = 300;
  std::mt19937 rng(9);
  for (const TensorType type : {TensorType::f16, TensorType::q8_0, TensorType::q4_k}) {
    SCOPED_TRACE(std::string(model::info(type).name));
    const RandomMatrix w = random_matrix(type, kWideRows, kCols, rng);
    const std::vector<float> x = uniform_floats(kTokens * kCols, rng);
    Activations prepared;
    prepared.prepare(type, x.data(), kTokens, kCols);
    std::vector<float> y(kTokens * kWideRows);
    matmul(w.matrix(), prepared, y.data(), kWideRows, 0, kWideRows);
    const auto read_x = [&](size_t t, size_t i) {
      if (prepared.sub_block() == 0) return double(x[t * kCols + i]);
      return double(prepared.q8_scale(t, i)) * prepared.q8_value(t, i);
    };
    EXPECT_LT(relative_error(y, reference(w, kTokens, read_x), kTokens, kWideRows, 0, kWideRows, kWideRows), 1e-5);
  }
}

class MatmulExact : public PerTarget {};

// Rows of multiples of 2^-6 whose every 32-block reaches ±127 · 2^-6: q8_0's
// d is then 2^-6 and q = x · 64 exactly (q8_K's too: d = ±2^-6).
std::vector<float> exact_activations(size_t n, std::mt19937& rng) {
  std::uniform_int_distribution<int> q(-127, 127);
  std::vector<float> x(n);
  for (size_t i = 0; i < n; ++i) x[i] = std::ldexp(float(i % 32 == 5 ? (i % 64 == 5 ? 127 : -127) : q(rng)), -6);
  return x;
}

TEST_P(MatmulExact, Q8_0AndQ4_0MatchIntegerBlockSums) {
  constexpr size_t kCols = 256;  // every partial sum below 2^24
  std::mt19937 rng(42);
  std::uniform_int_distribution<int> byte(0, 255);
  for (const TensorType type : {TensorType::q8_0, TensorType::q4_0}) {
    SCOPED_TRACE(std::string(model::info(type).name));
    const size_t block_bytes = model::info(type).block_bytes, blocks = kCols / 32;
    std::vector<std::byte> bytes(kRows * blocks * block_bytes);
    for (auto& b : bytes) b = std::byte(byte(rng));
    for (size_t b = 0; b < kRows * blocks; ++b) {  // d = 2^-7 (q8_0) or 2^-4 (q4_0)
      const uint16_t d = model::fp32_to_fp16(type == TensorType::q8_0 ? 0.0078125f : 0.0625f);
      std::memcpy(bytes.data() + b * block_bytes, &d, sizeof d);
    }
    std::vector<std::byte> prepared_bytes = bytes;
    const Matrix w = prepare_matrix(type, prepared_bytes.data(), kRows, kCols, blocks * block_bytes);
    for (const size_t n_tokens : {size_t{1}, size_t{3}, size_t{8}, size_t{33}}) {
      const std::vector<float> x = exact_activations(n_tokens * kCols, rng);
      Activations prepared;
      prepared.prepare(type, x.data(), n_tokens, kCols);
      std::vector<float> y(n_tokens * kRows);
      matmul(w, prepared, y.data(), kRows, 0, kRows);
      for (size_t r = 0; r < kRows; ++r) {
        for (size_t t = 0; t < n_tokens; ++t) {
          double sum = 0.0;
          for (size_t b = 0; b < blocks; ++b) {
            const std::byte* block = bytes.data() + r * blocks * block_bytes + b * block_bytes;
            uint16_t d_bits;
            std::memcpy(&d_bits, block, sizeof d_bits);
            int64_t block_sum = 0;
            for (size_t i = 0; i < 32; ++i) {
              const int qw =
                  type == TensorType::q8_0
                      ? int(reinterpret_cast<const model::block_q8_0*>(block)->qs[i])
                      : (int(reinterpret_cast<const model::block_q4_0*>(block)->qs[i % 16]) >> (i < 16 ? 0 : 4) & 15) -
                            8;
              block_sum += qw * prepared.q8_value(t, b * 32 + i);
            }
            sum += double(model::fp16_to_fp32(d_bits)) * prepared.q8_scale(t, b * 32) * double(block_sum);
          }
          ASSERT_EQ(y[t * kRows + r], float(sum)) << "row " << r << " token " << t;
        }
      }
    }
  }
}

// A token's row of y is the same, bit for bit, whatever batch it comes in: the
// engine's batched decode must equal each sequence alone.
class MatmulBatch : public PerTarget {};

TEST_P(MatmulBatch, TokensGiveTheSameResultsInAnyBatch) {
  constexpr size_t kBatchRows = 9;
  std::mt19937 rng(11);
  for (const TypeCase& c : kTypes) {
    SCOPED_TRACE(std::string(model::info(c.type).name));
    const RandomMatrix w = random_matrix(c.type, kBatchRows, c.cols, rng);
    const std::vector<float> x = uniform_floats(40 * c.cols, rng);
    std::vector<float> alone(40 * kBatchRows);
    Activations prepared;
    for (size_t t = 0; t < 40; ++t) {
      prepared.prepare(c.type, x.data() + t * c.cols, 1, c.cols);
      matmul(w.matrix(), prepared, alone.data() + t * kBatchRows, kBatchRows, 0, kBatchRows);
    }
    for (const size_t n_tokens : {size_t{2}, size_t{3}, size_t{5}, size_t{8}, size_t{40}}) {
      prepared.prepare(c.type, x.data(), n_tokens, c.cols);
      std::vector<float> y(n_tokens * kBatchRows);
      matmul(w.matrix(), prepared, y.data(), kBatchRows, 0, kBatchRows);
      for (size_t i = 0; i < y.size(); ++i) ASSERT_EQ(y[i], alone[i]) << n_tokens << " tokens, value " << i;
    }
  }
}

// q4_0 and q8_0 rows are rearranged in place and read back as the file's;
// other types are left as they are. Scalar code: one run covers every target.
TEST(PrepareMatrix, InterleavesRowsThatReadBackAsTheFiles) {
  std::mt19937 rng(5);
  for (const TensorType type : {TensorType::q4_0, TensorType::q8_0, TensorType::f16, TensorType::q6_k}) {
    for (const size_t cols : {size_t{256}, size_t{352}, size_t{1024 + 32 * 5}}) {
      if (cols % model::info(type).block_elements != 0) continue;
      SCOPED_TRACE(std::string(model::info(type).name) + " cols " + std::to_string(cols));
      const RandomMatrix w = random_matrix(type, 3, cols, rng);
      EXPECT_EQ(w.matrix().interleaved, interleaved_type(type));
      EXPECT_EQ(w.prepared != w.bytes, interleaved_type(type));
      std::vector<float> row(cols);
      std::vector<std::byte> file_row(w.row_bytes);
      for (size_t r = 0; r < w.rows; ++r) {
        dequantize_row(w.matrix(), r, row.data());
        EXPECT_EQ(row, w.dequantized_row(r));
        if (!interleaved_type(type)) continue;
        deinterleave_row(type, w.matrix().row(r), cols, file_row.data());
        EXPECT_TRUE(std::equal(file_row.begin(), file_row.end(), w.bytes.begin() + ptrdiff_t(r * w.row_bytes)));
      }
    }
  }
}

// Argument checks, made before a kernel is dispatched: the same on every target.
TEST(MatmulChecks, RejectsRowsNotPrepared) {
  std::mt19937 rng(1);
  const RandomMatrix w = random_matrix(TensorType::q4_0, 4, 256, rng);
  const std::vector<float> x = uniform_floats(256, rng);
  Activations prepared;
  prepared.prepare(TensorType::q4_0, x.data(), 1, 256);
  float y[4];
  Matrix file_layout = w.matrix();
  file_layout.interleaved = false;
  EXPECT_THROW(matmul(file_layout, prepared, y, 4, 0, 4), std::invalid_argument);
}

TEST(MatmulChecks, RejectsActivationsOfAnotherKind) {
  std::mt19937 rng(1);
  const RandomMatrix w = random_matrix(TensorType::q4_k, 4, 256, rng);
  const std::vector<float> x = uniform_floats(256, rng);
  Activations prepared;
  prepared.prepare(TensorType::q8_0, x.data(), 1, 256);
  float y[4];
  EXPECT_THROW(matmul(w.matrix(), prepared, y, 4, 0, 4), std::invalid_argument);
  prepared.prepare(TensorType::q6_k, x.data(), 1, 256);  // sums per 16, not 32
  EXPECT_THROW(matmul(w.matrix(), prepared, y, 4, 0, 4), std::invalid_argument);
  prepared.prepare(TensorType::q5_k, x.data(), 1, 256);  // the same q8_K rows
  EXPECT_NO_THROW(matmul(w.matrix(), prepared, y, 4, 0, 4));
  EXPECT_THROW(prepared.prepare(TensorType::q4_k, x.data(), 1, 128), std::invalid_argument);
}

std::string case_name(const ::testing::TestParamInfo<std::tuple<int64_t, TypeCase>>& info) {
  return std::string(hwy::TargetName(std::get<0>(info.param))) + "_" +
         std::string(model::info(std::get<1>(info.param).type).name);
}

INSTANTIATE_TEST_SUITE_P(Simd, Matmul,
                         ::testing::Combine(::testing::ValuesIn(simd_targets()), ::testing::ValuesIn(kTypes)),
                         case_name);
RS_INSTANTIATE_PER_TARGET(MatmulExact);
RS_INSTANTIATE_PER_TARGET(MatmulBlocks);
RS_INSTANTIATE_PER_TARGET(MatmulBatch);

}  // namespace
}  // namespace rs::kernels
