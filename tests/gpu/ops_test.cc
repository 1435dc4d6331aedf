// The GPU's per-row operations against the CPU's (core/kernels/ops.h) on
// random rows; skipped where no CUDA device is visible.
#include "gpu/ops.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "core/kernels/ops.h"
#include "tests/gpu/device_copy.h"
#include "tests/kernels/random_matrix.h"

namespace rs::gpu {
namespace {

using model::TensorType;

class GpuOps : public testing::Test {
 protected:
  void SetUp() override { RS_SKIP_WITHOUT_CUDA_DEVICE(); }
};

// ‖got − want‖ / ‖want‖.
double relative_error(const std::vector<float>& got, const std::vector<float>& want) {
  double error = 0, norm = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    error += double(got[i] - want[i]) * (got[i] - want[i]);
    norm += double(want[i]) * want[i];
  }
  return std::sqrt(error / norm);
}

TEST_F(GpuOps, RmsNormSwiGluAndAddMatchTheCpu) {
  std::mt19937 rng(1);
  constexpr size_t kN = 4096 + 64, kRows = 5;
  const std::vector<float> x = kernels::uniform_floats(kN * kRows, rng, -4.0f, 4.0f);
  const std::vector<float> weight = kernels::uniform_floats(kN, rng), up = kernels::uniform_floats(kN * kRows, rng);
  std::vector<float> norm(kN * kRows), gate = x, sum = x;
  for (size_t r = 0; r < kRows; ++r) kernels::rms_norm(&x[r * kN], weight.data(), 1e-5f, kN, &norm[r * kN]);
  kernels::swiglu(gate.data(), up.data(), gate.size());
  kernels::add(sum.data(), up.data(), sum.size());

  const DeviceCopy<float> dx(x), dweight(weight), dup(up), dnorm(std::vector<float>(kN * kRows)), dgate(x), dsum(x);
  rms_norm(dx.get(), dweight.get(), 1e-5f, kN, kRows, dnorm.get(), nullptr);
  swiglu(dgate.get(), dup.get(), kN * kRows, nullptr);
  add(dsum.get(), dup.get(), kN * kRows, nullptr);
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  EXPECT_LT(relative_error(dnorm.to_host(), norm), 1e-6);
  EXPECT_LT(relative_error(dgate.to_host(), gate), 1e-6);
  EXPECT_EQ(dsum.to_host(), sum);  // one rounding either way
}

TEST_F(GpuOps, AddBiasToEveryRowAndGatherRows) {
  std::mt19937 rng(5);
  constexpr size_t kN = 96, kRows = 7;
  const std::vector<float> x = kernels::uniform_floats(kN * kRows, rng), bias = kernels::uniform_floats(kN, rng);
  std::vector<float> biased = x;
  for (size_t r = 0; r < kRows; ++r) kernels::add(&biased[r * kN], bias.data(), kN);
  const std::vector<int32_t> rows = {6, 0, 3, 3};
  std::vector<float> gathered;
  for (const int32_t r : rows) gathered.insert(gathered.end(), &biased[r * kN], &biased[(r + 1) * kN]);

  const DeviceCopy<float> dx(x), dbias(bias), dout(std::vector<float>(rows.size() * kN, NAN));
  const DeviceCopy<int32_t> drows(rows);
  add_bias(dx.get(), dbias.get(), kN, kRows, nullptr);
  gather_rows(dx.get(), drows.get(), kN, rows.size(), dout.get(), nullptr);
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  EXPECT_EQ(dx.to_host(), biased);
  EXPECT_EQ(dout.to_host(), gathered);
}

TEST_F(GpuOps, RopeMatchesTheCpuInBothLayouts) {
  std::mt19937 rng(2);
  constexpr size_t kTokens = 3, kHeads = 4, kHeadDim = 64;
  const std::vector<int32_t> positions = {0, 7, 4095};
  std::vector<float> inv_freq(kHeadDim / 2);
  for (size_t i = 0; i < inv_freq.size(); ++i) inv_freq[i] = std::pow(10000.0f, -2.0f * float(i) / kHeadDim);
  for (const bool adjacent : {true, false}) {
    const std::vector<float> x = kernels::uniform_floats(kTokens * kHeads * kHeadDim, rng);
    std::vector<float> want = x;
    for (size_t t = 0; t < kTokens; ++t) {
      for (size_t h = 0; h < kHeads; ++h) {
        kernels::rope(&want[(t * kHeads + h) * kHeadDim], kHeadDim, uint32_t(positions[t]), inv_freq.data(), adjacent);
      }
    }
    const DeviceCopy<float> dx(x), dfreq(inv_freq);
    const DeviceCopy<int32_t> dpositions(positions);
    rope(dx.get(), kTokens, kHeads, kHeadDim, dpositions.get(), dfreq.get(), adjacent, nullptr);
    ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
    EXPECT_LT(relative_error(dx.to_host(), want), 1e-5) << (adjacent ? "adjacent pairs" : "halves");
  }
}

TEST_F(GpuOps, EmbedReadsRowsOfEveryType) {
  std::mt19937 rng(3);
  const std::vector<int32_t> ids = {5, 0, 5, 30};
  for (const TensorType type : {TensorType::f32, TensorType::f16, TensorType::bf16, TensorType::q8_0,
                                TensorType::q4_0, TensorType::q4_k, TensorType::q6_k}) {
    constexpr size_t kRows = 31, kCols = 512;
    const kernels::RandomMatrix table = kernels::random_matrix(type, kRows, kCols, rng);
    const DeviceCopy<std::byte> dtable(table.bytes);
    const DeviceCopy<int32_t> dids(ids);
    const DeviceCopy<float> dout(std::vector<float>(ids.size() * kCols));
    embed(type, dtable.get(), kCols, table.row_bytes, dids.get(), ids.size(), dout.get(), nullptr);
    ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
    const std::vector<float> out = dout.to_host();
    for (size_t t = 0; t < ids.size(); ++t) {
      const std::vector<float> want = table.dequantized_row(size_t(ids[t]));
      EXPECT_TRUE(std::equal(want.begin(), want.end(), out.begin() + ptrdiff_t(t * kCols)))
          << model::info(type).name << " token " << t;
    }
  }
}

}  // namespace
}  // namespace rs::gpu
