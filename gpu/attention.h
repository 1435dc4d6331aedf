#pragma once
// Decode attention on the GPU over the paged KV cache: every token of the
// batch, every head, reading keys and values through its sequence's block
// table, with an online softmax so that any context length fits (flash-
// decoding's recurrence, one thread block per token and head).
#include <cstddef>
#include <cstdint>

#include "gpu/kv_shape.h"

struct CUstream_st;

namespace rs::gpu {

// The step's per-token view of the pool: token t attends to positions
// 0..positions[t] of its sequence, whose blocks are the table
// block_tables[table_of_token[t] * max_blocks ..] (table t where
// table_of_token is null: one table per token). Device memory.
struct AttentionBatch {
  const int32_t* positions = nullptr;
  const int32_t* block_tables = nullptr;
  uint32_t max_blocks = 0;  // entries per table
  size_t tokens = 0;
  const int32_t* table_of_token = nullptr;  // tokens of one sequence share its table
};

// k and v: [tokens][n_kv_heads][head_dim] f32, written into each token's slot
// (its position's block and row) of `layer`.
void store_kv(const KvShape& shape, std::byte* pool, uint32_t layer, const AttentionBatch& batch, const float* k,
              const float* v, CUstream_st* stream);

// out[t][h] = softmax(scale · q[t][h] · K) · V over the token's positions, K
// and V of kv head h / (n_heads / n_kv_heads) in `layer`. q and out:
// [tokens][n_heads][head_dim] f32. Throws std::invalid_argument for a shape
// the kernel cannot take.
void attention_decode(const KvShape& shape, const std::byte* pool, uint32_t layer, const AttentionBatch& batch,
                      uint32_t n_heads, float scale, const float* q, float* out, CUstream_st* stream);

}  // namespace rs::gpu
