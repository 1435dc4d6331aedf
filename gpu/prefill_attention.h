#pragma once
// Prefill attention on the GPU over the paged KV cache: runs of consecutive
// new tokens, each attending causally to its sequence's cached positions and
// to the run's own (already stored) keys, tiled as flash attention so that a
// tile of keys and values is read once per tile of queries.
#include <cstddef>
#include <cstdint>

#include "gpu/attention.h"

struct CUstream_st;

namespace rs::gpu {

// One entry per sequence with a run of new tokens; arrays of `sequences`
// entries in device memory. Run s holds tokens[s] tokens, q / out rows
// first_token[s] .. first_token[s] + tokens[s] - 1, at positions
// first_position[s] + i; its sequence's blocks are
// block_tables[s * max_blocks ..].
struct PrefillBatch {
  const int32_t* first_token = nullptr;
  const int32_t* tokens = nullptr;
  const int32_t* first_position = nullptr;
  const int32_t* block_tables = nullptr;
  uint32_t max_blocks = 0;  // entries per sequence in block_tables
  uint32_t sequences = 0;
  uint32_t max_tokens = 0;  // at least every tokens[s]: sizes the grid
};

// For token i of each run, out[first_token + i][h] = softmax(scale · q · K) · V
// over positions 0 .. first_position + i, K and V of kv head
// h / (n_heads / n_kv_heads) in `layer` (the run's own keys and values
// written by store_kv first). q and out: [token][n_heads][head_dim] f32, as
// attention_decode; rows of q / out outside the runs are not touched. Throws
// std::invalid_argument for a shape the kernel cannot take.
void attention_prefill(const KvShape& shape, const std::byte* pool, uint32_t layer, const PrefillBatch& batch,
                       uint32_t n_heads, float scale, const float* q, float* out, CUstream_st* stream);

}  // namespace rs::gpu
