// Paged decode attention on the device against the CPU kernels' attention
// (dot_kv_rows, softmax, axpy_kv_rows) over the same pool, and store_kv
// against store_kv_row; skipped where no CUDA device is visible.
#include "gpu/attention.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <random>
#include <vector>

#include "core/kernels/ops.h"
#include "tests/gpu/device_copy.h"
#include "tests/kernels/random_matrix.h"

namespace rs::gpu {
namespace {

using model::TensorType;

class GpuAttention : public testing::TestWithParam<TensorType> {
 protected:
  void SetUp() override { RS_SKIP_WITHOUT_CUDA_DEVICE(); }
};

TEST_P(GpuAttention, MatchesTheCpuThroughBlockTables) {
  const KvShape shape{.n_layers = 2, .n_kv_heads = 2, .head_dim = 64, .block_tokens = 16, .type = GetParam()};
  constexpr uint32_t kHeads = 4, kPoolBlocks = 24, kMaxBlocks = 8, kLayer = 1;
  const std::vector<int32_t> positions = {0, 20, 100};
  const size_t tokens = positions.size();
  std::mt19937 rng(7);

  // Each token's sequence takes kMaxBlocks distinct blocks of the pool, in a random order.
  std::vector<int32_t> tables;
  for (size_t t = 0; t < tokens; ++t) {
    std::vector<int32_t> blocks(kPoolBlocks);
    std::iota(blocks.begin(), blocks.end(), 0);
    std::shuffle(blocks.begin(), blocks.end(), rng);
    tables.insert(tables.end(), blocks.begin(), blocks.begin() + kMaxBlocks);
  }
  // Random keys and values everywhere, rounded to the cache's type as the CPU stores them.
  std::vector<std::byte> pool(kPoolBlocks * shape.block_bytes());
  for (size_t row = 0; row < pool.size() / shape.row_bytes(); ++row) {
    const std::vector<float> values = kernels::uniform_floats(shape.head_dim, rng);
    kernels::store_kv_row(shape.type, values.data(), pool.data() + row * shape.row_bytes(), shape.head_dim);
  }
  const auto rows_of = [&](int32_t block, uint32_t kind, uint32_t kv_head) {
    return pool.data() + size_t(block) * shape.block_bytes() +
           ((size_t(kLayer) * 2 + kind) * shape.n_kv_heads + kv_head) * shape.block_tokens * shape.row_bytes();
  };

  const std::vector<float> q = kernels::uniform_floats(tokens * kHeads * shape.head_dim, rng, -2.0f, 2.0f);
  const float scale = 1.0f / std::sqrt(float(shape.head_dim));
  std::vector<float> want(q.size(), 0.0f);
  for (size_t t = 0; t < tokens; ++t) {
    for (uint32_t h = 0; h < kHeads; ++h) {
      const uint32_t kv_head = h / (kHeads / shape.n_kv_heads);
      const size_t n = size_t(positions[t]) + 1;
      std::vector<float> scores(n);
      const float* qh = &q[(t * kHeads + h) * shape.head_dim];
      float* out = &want[(t * kHeads + h) * shape.head_dim];
      for (size_t j = 0; j < n; j += shape.block_tokens) {
        const size_t rows = std::min<size_t>(shape.block_tokens, n - j);
        const int32_t block = tables[t * kMaxBlocks + j / shape.block_tokens];
        kernels::dot_kv_rows(shape.type, qh, rows_of(block, 0, kv_head), shape.row_bytes(), rows, shape.head_dim,
                             scale, &scores[j]);
      }
      kernels::softmax(scores.data(), n);
      for (size_t j = 0; j < n; j += shape.block_tokens) {
        const size_t rows = std::min<size_t>(shape.block_tokens, n - j);
        const int32_t block = tables[t * kMaxBlocks + j / shape.block_tokens];
        kernels::axpy_kv_rows(shape.type, &scores[j], rows_of(block, 1, kv_head), shape.row_bytes(), rows, out,
                              shape.head_dim);
      }
    }
  }

  const DeviceCopy<std::byte> dpool(pool);
  const DeviceCopy<int32_t> dpositions(positions), dtables(tables);
  const DeviceCopy<float> dq(q), dout(std::vector<float>(q.size(), NAN));
  const AttentionBatch batch{dpositions.get(), dtables.get(), kMaxBlocks, tokens};
  attention_decode(shape, dpool.get(), kLayer, batch, kHeads, scale, dq.get(), dout.get(), nullptr);
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  const std::vector<float> got = dout.to_host();
  double error = 0, norm = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    error += double(got[i] - want[i]) * (got[i] - want[i]);
    norm += double(want[i]) * want[i];
  }
  EXPECT_LT(std::sqrt(error / norm), 1e-5);

  // The same tables stored in reverse order and named per token through table_of_token: the same result.
  std::vector<int32_t> reversed, table_of_token(tokens);
  for (size_t t = 0; t < tokens; ++t) {
    reversed.insert(reversed.begin(), tables.begin() + t * kMaxBlocks, tables.begin() + (t + 1) * kMaxBlocks);
    table_of_token[t] = int32_t(tokens - 1 - t);
  }
  const DeviceCopy<int32_t> dreversed(reversed), dtable_of_token(table_of_token);
  const DeviceCopy<float> dshared_out(std::vector<float>(q.size(), NAN));
  const AttentionBatch shared{dpositions.get(), dreversed.get(), kMaxBlocks, tokens, dtable_of_token.get()};
  attention_decode(shape, dpool.get(), kLayer, shared, kHeads, scale, dq.get(), dshared_out.get(), nullptr);
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  EXPECT_EQ(dshared_out.to_host(), got);

  // store_kv writes each token's new key and value where the CPU would.
  const std::vector<float> k = kernels::uniform_floats(tokens * shape.n_kv_heads * shape.head_dim, rng);
  const std::vector<float> v = kernels::uniform_floats(k.size(), rng);
  const DeviceCopy<float> dk(k), dv(v);
  store_kv(shape, dpool.get(), kLayer, batch, dk.get(), dv.get(), nullptr);
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  const std::vector<std::byte> stored = dpool.to_host();
  for (size_t t = 0; t < tokens; ++t) {
    const int32_t block = tables[t * kMaxBlocks + size_t(positions[t]) / shape.block_tokens];
    const size_t in_block = size_t(positions[t]) % shape.block_tokens;
    for (uint32_t kv_head = 0; kv_head < shape.n_kv_heads; ++kv_head) {
      for (uint32_t kind = 0; kind < 2; ++kind) {
        std::vector<std::byte> row(shape.row_bytes());
        const float* src = (kind == 0 ? k : v).data() + (t * shape.n_kv_heads + kv_head) * shape.head_dim;
        kernels::store_kv_row(shape.type, src, row.data(), shape.head_dim);
        const size_t offset = size_t(rows_of(block, kind, kv_head) - pool.data()) + in_block * shape.row_bytes();
        EXPECT_EQ(0, std::memcmp(stored.data() + offset, row.data(), row.size()))
            << "token " << t << " kv head " << kv_head << (kind == 0 ? " key" : " value");
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(KvTypes, GpuAttention, testing::Values(TensorType::f16, TensorType::f32),
                         [](const testing::TestParamInfo<TensorType>& info) {
                           return std::string(model::info(info.param).name);
                         });

TEST(GpuAttentionChecks, RejectsShapesItCannotTake) {
  const AttentionBatch batch{nullptr, nullptr, 1, 1};
  KvShape q8{.n_layers = 1, .n_kv_heads = 1, .head_dim = 64, .block_tokens = 16, .type = TensorType::q8_0};
  EXPECT_THROW(attention_decode(q8, nullptr, 0, batch, 1, 1.0f, nullptr, nullptr, nullptr), std::invalid_argument);
  KvShape wide{.n_layers = 1, .n_kv_heads = 1, .head_dim = 512, .block_tokens = 16, .type = TensorType::f16};
  EXPECT_THROW(attention_decode(wide, nullptr, 0, batch, 1, 1.0f, nullptr, nullptr, nullptr), std::invalid_argument);
  KvShape gqa{.n_layers = 1, .n_kv_heads = 3, .head_dim = 64, .block_tokens = 16, .type = TensorType::f16};
  EXPECT_THROW(attention_decode(gqa, nullptr, 0, batch, 4, 1.0f, nullptr, nullptr, nullptr), std::invalid_argument);
}

}  // namespace
}  // namespace rs::gpu
