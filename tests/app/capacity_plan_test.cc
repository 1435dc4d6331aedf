// `ringserve plan`'s arithmetic on a description alone: the 8b preset's file (4+ GB) is never written.
#include "core/app/capacity_plan.h"

#include <gtest/gtest.h>

#include "core/model/synth.h"

namespace rs {
namespace {

// The 8b synth preset's description, q4_0: its whole tensor table as one entry of the hand-computed bytes.
model::ModelDesc eight_b_q4_0() {
  const model::SynthShape s = *model::synth_preset("8b");
  model::ModelDesc d;
  d.vocab_size = 260;  // the byte vocabulary
  d.embedding_dim = s.embedding_dim;
  d.n_layers = s.n_layers;
  d.n_heads = s.n_heads;
  d.n_kv_heads = s.n_kv_heads;
  d.head_dim = s.embedding_dim / s.n_heads;
  d.ffn_dim = s.ffn_dim;
  d.context_length = s.context_length;
  // 4096 wide, 32 layers, 32 heads (8 KV) of 128, ffn 14336; q4_0 is 18 bytes per 32 weights, norms f32.
  const uint64_t layer = (4096ull * 4096 * 2 + 4096ull * 1024 * 2 + 3ull * 4096 * 14336) / 32 * 18 + 2 * 4096 * 4;
  d.tensors.push_back({.name = "all", .bytes = 32 * layer + 2 * 260ull * 4096 / 32 * 18 + 4096 * 4});
  return d;
}

TEST(PlanCapacity, EightBOnAnL4) {
  const model::ModelDesc d = eight_b_q4_0();
  const CapacityPlan p = plan_capacity(d, {.memory_bytes = 24.0 * (1ull << 30)});
  EXPECT_EQ(p.weight_bytes, 3'928'131'584u);
  EXPECT_EQ(p.kv_bytes_per_token, 32u * 2 * 8 * 128 * 2);  // 128 KiB of f16 keys and values
  const uint64_t activations = 4 * (5 * 2048ull * 4096 + 2 * 2048ull * 1024 + 2 * 2048ull * 14336 + 64 * 4096 + 64 * 260);
  const uint64_t gemm = 2048ull * 14336 * 2 + (64ull << 20) + (32ull << 20);
  EXPECT_EQ(p.workspace_bytes, activations + gemm + (256ull << 20));
  const double left = 0.9 * 24 * double(1ull << 30) - double(p.weight_bytes + p.workspace_bytes);
  EXPECT_EQ(p.kv_blocks, uint64_t(left / (131072.0 * 16)) - 1);
  EXPECT_EQ(p.kv_tokens, p.kv_blocks * 16);
  EXPECT_EQ(p.full_context_sequences, p.kv_blocks / 256);  // 4096-token contexts
  EXPECT_EQ(p.concurrency.parallel_queries, p.full_context_sequences);  // fewer than --max-seqs 64
  EXPECT_EQ(p.concurrency.max_concurrency(), p.full_context_sequences + 64);
}

TEST(PlanCapacity, EightBWithF32KvOnTooSmallAGpuNamesTheFlags) {
  const PlanOptions too_small{.memory_bytes = 5.0 * (1ull << 30), .kv_type = model::TensorType::f32};
  try {
    plan_capacity(eight_b_q4_0(), too_small);
    FAIL() << "5 GiB holds the weights and not one 4096-token context";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("raise --gpu-memory or --gpu-memory-fraction"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace rs
