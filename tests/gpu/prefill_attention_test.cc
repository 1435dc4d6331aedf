// Paged prefill attention on the device against a float64 reference over the
// same pool and against attention_decode given the same tokens one by one;
// skipped where no CUDA device is visible.
#include "gpu/prefill_attention.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "core/kernels/ops.h"
#include "core/model/quantize.h"
#include "gpu/attention.h"
#include "tests/gpu/device_copy.h"
#include "tests/kernels/random_matrix.h"

namespace rs::gpu {
namespace {

using model::TensorType;

struct PrefillRun {
  int32_t first_position, tokens;
};

// From position 0, after a cached prefix, a lone token (a decode) and a long
// run over many K/V tiles; no length a whole number of query tiles.
const std::vector<PrefillRun> kRuns = {{0, 45}, {37, 20}, {9, 1}, {150, 70}};
// Where each run's tokens are in q / out: not in run order, with slot 70 in no run.
const std::vector<int32_t> kFirstTokens = {71, 116, 136, 0};
constexpr size_t kSlots = 137;
constexpr int32_t kUnusedSlot = 70;

double relative_error(const std::vector<float>& got, const std::vector<double>& want, const std::vector<bool>& in_run,
                      size_t row) {
  double error = 0, norm = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    if (!in_run[i / row]) continue;
    error += (got[i] - want[i]) * (got[i] - want[i]);
    norm += want[i] * want[i];
  }
  return std::sqrt(error / norm);
}

using Heads = std::pair<uint32_t, uint32_t>;  // n_heads, n_kv_heads
using Params = std::tuple<TensorType, uint32_t, uint32_t, Heads>;  // KV type, head_dim, block_tokens, heads

class PrefillAttention : public testing::TestWithParam<Params> {
 protected:
  void SetUp() override { RS_SKIP_WITHOUT_CUDA_DEVICE(); }
};

TEST_P(PrefillAttention, MatchesFloat64AndDecodeThroughBlockTables) {
  const auto [type, head_dim, block_tokens, heads] = GetParam();
  const auto [n_heads, n_kv_heads] = heads;
  const KvShape shape{.n_layers = 2, .n_kv_heads = n_kv_heads, .head_dim = head_dim, .block_tokens = block_tokens,
                      .type = type};
  constexpr uint32_t kLayer = 1;
  const uint32_t group = n_heads / n_kv_heads;
  std::mt19937 rng(11);

  // Each run's sequence takes its own blocks of the pool, in a random order;
  // table entries past a sequence's positions name a block of NaNs, and the
  // unused slot's store_kv goes to a spare block.
  std::vector<uint32_t> blocks_needed;
  for (const PrefillRun& run : kRuns) {
    blocks_needed.push_back((run.first_position + run.tokens + block_tokens - 1) / block_tokens);
  }
  const uint32_t max_blocks = *std::max_element(blocks_needed.begin(), blocks_needed.end());
  const uint32_t pool_blocks = std::accumulate(blocks_needed.begin(), blocks_needed.end(), 0u) + 2;
  std::vector<int32_t> ids(pool_blocks);
  std::iota(ids.begin(), ids.end(), 0);
  std::shuffle(ids.begin(), ids.end(), rng);
  const int32_t nan_block = ids[pool_blocks - 1], spare_block = ids[pool_blocks - 2];
  std::vector<int32_t> tables(kRuns.size() * max_blocks, nan_block);
  for (size_t r = 0, next = 0; r < kRuns.size(); ++r) {
    for (uint32_t b = 0; b < blocks_needed[r]; ++b) tables[r * max_blocks + b] = ids[next++];
  }

  std::vector<std::byte> pool(pool_blocks * shape.block_bytes());
  const size_t rows_per_block = shape.block_bytes() / shape.row_bytes();
  for (size_t row = 0; row < pool_blocks * rows_per_block; ++row) {
    const std::vector<float> values = row / rows_per_block == size_t(nan_block)
                                          ? std::vector<float>(head_dim, NAN)
                                          : kernels::uniform_floats(head_dim, rng);
    kernels::store_kv_row(type, values.data(), pool.data() + row * shape.row_bytes(), head_dim);
  }

  // The per-token view of the same step, for store_kv and attention_decode.
  std::vector<int32_t> positions(kSlots, 0), token_tables(kSlots * max_blocks, spare_block);
  std::vector<bool> in_run(kSlots, false);
  for (size_t r = 0; r < kRuns.size(); ++r) {
    for (int32_t i = 0; i < kRuns[r].tokens; ++i) {
      const size_t slot = size_t(kFirstTokens[r] + i);
      positions[slot] = kRuns[r].first_position + i;
      std::copy_n(&tables[r * max_blocks], max_blocks, &token_tables[slot * max_blocks]);
      in_run[slot] = true;
    }
  }
  ASSERT_FALSE(in_run[kUnusedSlot]);
  ASSERT_EQ(size_t(std::count(in_run.begin(), in_run.end(), true)), kSlots - 1);

  const size_t row = size_t(n_heads) * head_dim;
  const std::vector<float> q = kernels::uniform_floats(kSlots * row, rng, -2.0f, 2.0f);
  const std::vector<float> k = kernels::uniform_floats(kSlots * n_kv_heads * head_dim, rng);
  const std::vector<float> v = kernels::uniform_floats(k.size(), rng);
  const float scale = 1.0f / std::sqrt(float(head_dim));

  const DeviceCopy<std::byte> dpool(pool);
  const DeviceCopy<int32_t> dpositions(positions), dtoken_tables(token_tables), dtables(tables);
  const DeviceCopy<float> dq(q), dk(k), dv(v);
  const AttentionBatch per_token{dpositions.get(), dtoken_tables.get(), max_blocks, kSlots};
  store_kv(shape, dpool.get(), kLayer, per_token, dk.get(), dv.get(), nullptr);

  std::vector<int32_t> first_positions, run_tokens;
  for (const PrefillRun& run : kRuns) {
    first_positions.push_back(run.first_position);
    run_tokens.push_back(run.tokens);
  }
  const uint32_t max_tokens = uint32_t(*std::max_element(run_tokens.begin(), run_tokens.end()));
  const DeviceCopy<int32_t> dfirst_tokens(kFirstTokens), dtokens(run_tokens), dfirst_positions(first_positions);
  const PrefillBatch batch{dfirst_tokens.get(), dtokens.get(), dfirst_positions.get(), dtables.get(),
                           max_blocks, uint32_t(kRuns.size()), max_tokens};
  const DeviceCopy<float> dout(std::vector<float>(q.size(), NAN)), ddecoded(std::vector<float>(q.size(), NAN));
  attention_prefill(shape, dpool.get(), kLayer, batch, n_heads, scale, dq.get(), dout.get(), nullptr);
  attention_decode(shape, dpool.get(), kLayer, per_token, n_heads, scale, dq.get(), ddecoded.get(), nullptr);
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  const std::vector<float> got = dout.to_host(), decoded = ddecoded.to_host();

  // float64 attention over the pool as the device holds it (the runs' own rows from store_kv).
  const std::vector<std::byte> stored = dpool.to_host();
  const auto values_at = [&](size_t r, int32_t position, uint32_t kind, uint32_t kv_head) {
    const int32_t block = tables[r * max_blocks + size_t(position) / block_tokens];
    const std::byte* at = stored.data() + size_t(block) * shape.block_bytes() +
                          ((size_t(kLayer) * 2 + kind) * n_kv_heads + kv_head) * block_tokens * shape.row_bytes() +
                          size_t(position) % block_tokens * shape.row_bytes();
    std::vector<float> values(head_dim);
    model::dequantize_row(type, at, values.data(), head_dim);
    return values;
  };
  std::vector<double> want(q.size(), 0.0);
  for (size_t r = 0; r < kRuns.size(); ++r) {
    const int32_t positions_seen = kRuns[r].first_position + kRuns[r].tokens;
    for (uint32_t kv_head = 0; kv_head < n_kv_heads; ++kv_head) {
      std::vector<std::vector<float>> keys, values;
      for (int32_t j = 0; j < positions_seen; ++j) {
        keys.push_back(values_at(r, j, 0, kv_head));
        values.push_back(values_at(r, j, 1, kv_head));
      }
      for (int32_t i = 0; i < kRuns[r].tokens; ++i) {
        const size_t slot = size_t(kFirstTokens[r] + i);
        const int32_t visible = kRuns[r].first_position + i + 1;
        for (uint32_t h = kv_head * group; h < (kv_head + 1) * group; ++h) {
          const float* qh = &q[slot * row + h * head_dim];
          std::vector<double> scores(visible);
          for (int32_t j = 0; j < visible; ++j) {
            double dot = 0;
            for (uint32_t d = 0; d < head_dim; ++d) dot += double(qh[d]) * keys[j][d];
            scores[j] = dot * scale;
          }
          const double max = *std::max_element(scores.begin(), scores.end());
          double sum = 0;
          for (double& s : scores) sum += (s = std::exp(s - max));
          double* dst = &want[slot * row + h * head_dim];
          for (int32_t j = 0; j < visible; ++j) {
            for (uint32_t d = 0; d < head_dim; ++d) dst[d] += scores[j] / sum * values[j][d];
          }
        }
      }
    }
  }

  // The reference reads the pool's own (rounded) values, so f16 KV is held to f32's bound.
  EXPECT_LT(relative_error(got, want, in_run, row), 1e-5);
  std::vector<double> decoded_wide(decoded.begin(), decoded.end());
  EXPECT_LT(relative_error(got, decoded_wide, in_run, row), 1e-5);
  EXPECT_LT(relative_error(decoded, want, in_run, row), 1e-5);
  for (size_t i = 0; i < row; ++i) ASSERT_TRUE(std::isnan(got[kUnusedSlot * row + i])) << "written outside the runs";
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, PrefillAttention,
    testing::Combine(testing::Values(TensorType::f16, TensorType::f32), testing::Values(64u, 80u, 128u, 256u),
                     testing::Values(16u, 7u), testing::Values(Heads{8, 2}, Heads{4, 4})),
    [](const testing::TestParamInfo<Params>& info) {
      const Heads heads = std::get<3>(info.param);
      return std::string(model::info(std::get<0>(info.param)).name) + "_dim" + std::to_string(std::get<1>(info.param)) +
             "_block" + std::to_string(std::get<2>(info.param)) + "_heads" + std::to_string(heads.first) + "_kv" +
             std::to_string(heads.second);
    });

TEST(PrefillAttentionChecks, RejectsShapesItCannotTake) {
  const PrefillBatch batch{nullptr, nullptr, nullptr, nullptr, 1, 1, 1};
  const KvShape q8{.n_layers = 1, .n_kv_heads = 1, .head_dim = 64, .block_tokens = 16, .type = TensorType::q8_0};
  EXPECT_THROW(attention_prefill(q8, nullptr, 0, batch, 1, 1.0f, nullptr, nullptr, nullptr), std::invalid_argument);
  const KvShape wide{.n_layers = 1, .n_kv_heads = 1, .head_dim = 512, .block_tokens = 16, .type = TensorType::f16};
  EXPECT_THROW(attention_prefill(wide, nullptr, 0, batch, 1, 1.0f, nullptr, nullptr, nullptr), std::invalid_argument);
  const KvShape gqa{.n_layers = 1, .n_kv_heads = 3, .head_dim = 64, .block_tokens = 16, .type = TensorType::f16};
  EXPECT_THROW(attention_prefill(gqa, nullptr, 0, batch, 4, 1.0f, nullptr, nullptr, nullptr), std::invalid_argument);
  const KvShape f16{.n_layers = 1, .n_kv_heads = 1, .head_dim = 64, .block_tokens = 16, .type = TensorType::f16};
  const PrefillBatch too_many_runs{nullptr, nullptr, nullptr, nullptr, 1, 70000, 1};
  EXPECT_THROW(attention_prefill(f16, nullptr, 0, too_many_runs, 1, 1.0f, nullptr, nullptr, nullptr),
               std::invalid_argument);
}

}  // namespace
}  // namespace rs::gpu
