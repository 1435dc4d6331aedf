// matvec on a real device against the dequantized weights in double, every
// type it reads and every token bucket; skipped where no CUDA device is visible.
#include "gpu/matvec.h"

#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "gpu/device.h"
#include "tests/gpu/device_copy.h"
#include "tests/kernels/random_matrix.h"

namespace rs::gpu {
namespace {

using model::TensorType;

class Matvec : public testing::TestWithParam<TensorType> {
 protected:
  void SetUp() override { RS_SKIP_WITHOUT_CUDA_DEVICE(); }
};

TEST_P(Matvec, MatchesTheDequantizedWeightsInDouble) {
  const TensorType type = GetParam();
  std::mt19937 rng(uint32_t(type) + 17);
  for (const size_t cols : {size_t{256}, size_t{4096} + 256}) {
    constexpr size_t kRows = 37;  // not a multiple of the rows per thread block
    const kernels::RandomMatrix w = kernels::random_matrix(type, kRows, cols, rng);
    const DeviceCopy<std::byte> weights(w.bytes);  // the file's layout, as streamed to the device
    for (const size_t tokens : {size_t{1}, size_t{3}, size_t{16}, size_t{17}, size_t{64}}) {
      SCOPED_TRACE(std::to_string(cols) + " cols, " + std::to_string(tokens) + " tokens");
      const std::vector<float> x = kernels::uniform_floats(tokens * cols, rng);
      const DeviceCopy<float> dx(x);
      const DeviceCopy<float> dy(std::vector<float>(tokens * kRows, NAN));
      matvec(type, weights.get(), kRows, cols, w.row_bytes, dx.get(), tokens, dy.get(), nullptr);
      ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
      const std::vector<float> y = dy.to_host();
      double error = 0, norm = 0;
      for (size_t r = 0; r < kRows; ++r) {
        const std::vector<float> row = w.dequantized_row(r);
        for (size_t t = 0; t < tokens; ++t) {
          double want = 0;
          for (size_t c = 0; c < cols; ++c) want += double(row[c]) * x[t * cols + c];
          error += (y[t * kRows + r] - want) * (y[t * kRows + r] - want);
          norm += want * want;
        }
      }
      EXPECT_LT(std::sqrt(error / norm), 1e-5);  // exact weights, float sums
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Types, Matvec,
                         testing::Values(TensorType::f32, TensorType::f16, TensorType::bf16, TensorType::q8_0,
                                         TensorType::q4_0, TensorType::q4_k, TensorType::q6_k),
                         [](const testing::TestParamInfo<TensorType>& info) {
                           return std::string(model::info(info.param).name);
                         });

TEST(MatvecChecks, RejectsWhatItCannotRead) {
  EXPECT_FALSE(matvec_reads(TensorType::q5_k));
  EXPECT_THROW(matvec(TensorType::q5_k, nullptr, 1, 256, 176, nullptr, 1, nullptr, nullptr), std::invalid_argument);
  EXPECT_THROW(matvec(TensorType::f16, nullptr, 1, 64, 128, nullptr, 65, nullptr, nullptr), std::invalid_argument);
  EXPECT_THROW(matvec(TensorType::f16, nullptr, 1, 48, 96, nullptr, 1, nullptr, nullptr), std::invalid_argument);
}

}  // namespace
}  // namespace rs::gpu
