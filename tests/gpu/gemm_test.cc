// Gemm on a real device against the dequantized weights in double: every type
// matvec reads, token counts past matvec's 64, weights over several tiles,
// matvec's own result, and a call captured in a CUDA graph; skipped where no
// CUDA device is visible.
#include "gpu/gemm.h"

#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "gpu/matvec.h"
#include "tests/gpu/device_copy.h"
#include "tests/kernels/random_matrix.h"

namespace rs::gpu {
namespace {

using model::TensorType;

// y[t * rows + r] over the file's values, summed in double.
std::vector<double> reference(const kernels::RandomMatrix& w, const std::vector<float>& x, size_t tokens) {
  std::vector<double> y(tokens * w.rows);
  for (size_t r = 0; r < w.rows; ++r) {
    const std::vector<float> row = w.dequantized_row(r);
    for (size_t t = 0; t < tokens; ++t) {
      double sum = 0;
      for (size_t c = 0; c < w.cols; ++c) sum += double(row[c]) * x[t * w.cols + c];
      y[t * w.rows + r] = sum;
    }
  }
  return y;
}

// ‖y − want‖ / ‖want‖: NaN, and so fails every bound, where y kept its poison.
template <class T>
double relative_error(const std::vector<float>& y, const std::vector<T>& want) {
  double error = 0, norm = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    error += (y[i] - double(want[i])) * (y[i] - double(want[i]));
    norm += double(want[i]) * double(want[i]);
  }
  return std::sqrt(error / norm);
}

// Gemm's y for `tokens` rows of x, into NaN-poisoned device memory.
std::vector<float> multiply(Gemm& gemm, const kernels::RandomMatrix& w, const DeviceCopy<std::byte>& weights,
                            const std::vector<float>& x, size_t tokens) {
  const DeviceCopy<float> dx(x);
  const DeviceCopy<float> dy(std::vector<float>(tokens * w.rows, NAN));
  gemm.multiply(w.type, weights.get(), w.rows, w.cols, w.row_bytes, dx.get(), tokens, dy.get(), nullptr);
  EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  return dy.to_host();
}

class GemmByType : public testing::TestWithParam<TensorType> {
 protected:
  void SetUp() override { RS_SKIP_WITHOUT_CUDA_DEVICE(); }
};

TEST_P(GemmByType, MatchesTheDequantizedWeightsInDouble) {
  const TensorType type = GetParam();
  std::mt19937 rng(uint32_t(type) + 29);
  // At 4352 columns a tile holds 48 rows: 100 rows are two whole tiles and 4 rows more.
  constexpr size_t kRows = 100, kMaxCols = 4096 + 256, kTileRows = 48;
  Gemm gemm({.max_tokens = 512, .max_rows = kRows, .max_cols = kMaxCols, .max_tile_bytes = kTileRows * kMaxCols * 2});
  ASSERT_EQ(gemm.tile_rows(kMaxCols), kTileRows);
  const double bound = type == TensorType::f32 ? 1e-5 : 1e-2;  // f32 throughout, or activations rounded to 16 bits
  for (const size_t cols : {size_t{256}, kMaxCols}) {
    const kernels::RandomMatrix w = kernels::random_matrix(type, kRows, cols, rng);
    const DeviceCopy<std::byte> weights(w.bytes);  // the file's layout, as streamed to the device
    for (const size_t tokens : {size_t{65}, size_t{100}, size_t{512}}) {
      SCOPED_TRACE(std::to_string(cols) + " cols, " + std::to_string(tokens) + " tokens");
      const std::vector<float> x = kernels::uniform_floats(tokens * cols, rng);
      EXPECT_LT(relative_error(multiply(gemm, w, weights, x, tokens), reference(w, x, tokens)), bound);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(GemmTypes, GemmByType,
                         testing::Values(TensorType::f32, TensorType::f16, TensorType::bf16, TensorType::q8_0,
                                         TensorType::q4_0, TensorType::q4_k, TensorType::q6_k),
                         [](const testing::TestParamInfo<TensorType>& info) {
                           return std::string(model::info(info.param).name);
                         });

class GemmOnDevice : public testing::Test {
 protected:
  void SetUp() override { RS_SKIP_WITHOUT_CUDA_DEVICE(); }
};

TEST_F(GemmOnDevice, MatchesMatvecAtItsLargestBatch) {
  std::mt19937 rng(41);
  constexpr size_t kRows = 100, kCols = 4096 + 256, kTokens = kMaxMatvecTokens;
  const kernels::RandomMatrix w = kernels::random_matrix(TensorType::q4_k, kRows, kCols, rng);
  const DeviceCopy<std::byte> weights(w.bytes);
  const std::vector<float> x = kernels::uniform_floats(kTokens * kCols, rng);
  const DeviceCopy<float> dx(x);
  const DeviceCopy<float> dy(std::vector<float>(kTokens * kRows, NAN));
  matvec(w.type, weights.get(), kRows, kCols, w.row_bytes, dx.get(), kTokens, dy.get(), nullptr);
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  Gemm gemm({.max_tokens = kTokens, .max_rows = kRows, .max_cols = kCols});
  EXPECT_LT(relative_error(multiply(gemm, w, weights, x, kTokens), dy.to_host()), 1e-2);
}

TEST_F(GemmOnDevice, KeepsItsScratchBoundedOverManyTiles) {
  std::mt19937 rng(43);
  // 40 KiB hold 20 rows of 1024 f16 values, used as 16: 300 rows are 18 tiles of 16 and one of 12.
  constexpr size_t kRows = 300, kCols = 1024, kTokens = 128, kTileBytes = 40 << 10;
  Gemm gemm({.max_tokens = kTokens, .max_rows = kRows, .max_cols = kCols, .max_tile_bytes = kTileBytes});
  EXPECT_EQ(gemm.tile_rows(kCols), 16u);
  EXPECT_LE(gemm.scratch_bytes(), kTileBytes + kTokens * kCols * 2 + Gemm::kWorkspaceBytes);
  for (const TensorType type : {TensorType::q8_0, TensorType::q6_k}) {
    SCOPED_TRACE(std::string(model::info(type).name));
    const kernels::RandomMatrix w = kernels::random_matrix(type, kRows, kCols, rng);
    const DeviceCopy<std::byte> weights(w.bytes);
    const std::vector<float> x = kernels::uniform_floats(kTokens * kCols, rng);
    EXPECT_LT(relative_error(multiply(gemm, w, weights, x, kTokens), reference(w, x, kTokens)), 1e-2);
  }
}

TEST_F(GemmOnDevice, RunsCapturedInACudaGraph) {
  std::mt19937 rng(47);
  constexpr size_t kRows = 100, kCols = 256, kTokens = 65;
  const kernels::RandomMatrix w = kernels::random_matrix(TensorType::q4_0, kRows, kCols, rng);
  const DeviceCopy<std::byte> weights(w.bytes);
  const std::vector<float> x = kernels::uniform_floats(kTokens * kCols, rng);
  const DeviceCopy<float> dx(x);
  const DeviceCopy<float> warm_up(std::vector<float>(kTokens * kRows, NAN));
  const DeviceCopy<float> dy(std::vector<float>(kTokens * kRows, NAN));
  Gemm gemm({.max_tokens = kTokens, .max_rows = kRows, .max_cols = kCols});
  cudaStream_t stream = nullptr;
  ASSERT_EQ(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), cudaSuccess);
  // Once outside the capture, so that loading kernels is not what the capture sees.
  gemm.multiply(w.type, weights.get(), kRows, kCols, w.row_bytes, dx.get(), kTokens, warm_up.get(), stream);
  ASSERT_EQ(cudaStreamSynchronize(stream), cudaSuccess);
  // Global mode: an allocation anywhere during the capture ends it with an error.
  ASSERT_EQ(cudaStreamBeginCapture(stream, cudaStreamCaptureModeGlobal), cudaSuccess);
  EXPECT_NO_THROW(gemm.multiply(w.type, weights.get(), kRows, kCols, w.row_bytes, dx.get(), kTokens, dy.get(), stream));
  cudaGraph_t graph = nullptr;
  ASSERT_EQ(cudaStreamEndCapture(stream, &graph), cudaSuccess);
  cudaGraphExec_t exec = nullptr;
  ASSERT_EQ(cudaGraphInstantiate(&exec, graph, 0), cudaSuccess);
  ASSERT_EQ(cudaGraphLaunch(exec, stream), cudaSuccess);
  ASSERT_EQ(cudaStreamSynchronize(stream), cudaSuccess);
  EXPECT_LT(relative_error(dy.to_host(), reference(w, x, kTokens)), 1e-2);
  cudaGraphExecDestroy(exec);
  cudaGraphDestroy(graph);
  cudaStreamDestroy(stream);
}

TEST_F(GemmOnDevice, RejectsWhatItCannotRead) {
  Gemm gemm({.max_tokens = 128, .max_rows = 64, .max_cols = 512});
  EXPECT_THROW(gemm.multiply(TensorType::q5_k, nullptr, 1, 256, 176, nullptr, 65, nullptr, nullptr),
               std::invalid_argument);
  EXPECT_THROW(gemm.multiply(TensorType::f16, nullptr, 1, 48, 96, nullptr, 65, nullptr, nullptr),
               std::invalid_argument);
  EXPECT_THROW(gemm.multiply(TensorType::f16, nullptr, 1, 64, 128, nullptr, 0, nullptr, nullptr),
               std::invalid_argument);
  EXPECT_THROW(gemm.multiply(TensorType::f16, nullptr, 1, 64, 128, nullptr, 129, nullptr, nullptr),
               std::invalid_argument);
  EXPECT_THROW(gemm.multiply(TensorType::f16, nullptr, 1, 1024, 2048, nullptr, 65, nullptr, nullptr),
               std::invalid_argument);
  EXPECT_THROW(gemm.multiply(TensorType::f16, nullptr, 1, 64, 129, nullptr, 65, nullptr, nullptr),
               std::invalid_argument);
  EXPECT_THROW(gemm.multiply(TensorType::q8_0, nullptr, 1, 64, 34, nullptr, 65, nullptr, nullptr),
               std::invalid_argument);
}

// The limits are checked before any device memory is taken, so this runs without a device.
TEST(GemmLimitsCheck, RejectsLimitsItCannotServe) {
  EXPECT_THROW(Gemm(GemmLimits{.max_tokens = 0, .max_rows = 1, .max_cols = 256}), std::invalid_argument);
  EXPECT_THROW(Gemm(GemmLimits{.max_tokens = 1, .max_rows = 1, .max_cols = 4096, .max_tile_bytes = 4096}),
               std::invalid_argument);
}

}  // namespace
}  // namespace rs::gpu
