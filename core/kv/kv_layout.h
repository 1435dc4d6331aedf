#pragma once
// The shape of a paged KV cache: fixed-size blocks from one pool, each holding
// the keys and values of `block_tokens` positions for every layer and KV head.
#include <cstddef>
#include <cstdint>

#include "core/model/tensor_type.h"

namespace rs::kv {

using BlockId = uint32_t;  // a block of the pool, 0 to n_blocks - 1

struct KvLayout {
  uint32_t n_layers = 0;
  uint32_t n_kv_heads = 0;
  uint32_t head_dim = 0;
  uint32_t block_tokens = 16;
  model::TensorType type = model::TensorType::f16;  // f16, f32 or q8_0 (head_dim a multiple of 32)
  uint32_t n_blocks = 0;

  size_t row_bytes() const;  // one key or value of one head at one position
  // A block holds [layer][key, value][kv head][position in block] rows.
  size_t block_bytes() const { return size_t(n_layers) * 2 * n_kv_heads * block_tokens * row_bytes(); }
  // Offset of the first row of (layer, key (0) or value (1), head) in `block`;
  // its block_tokens positions follow contiguously.
  size_t rows_offset(BlockId block, uint32_t layer, uint32_t kind, uint32_t head) const {
    return size_t(block) * block_bytes() +
           ((size_t(layer) * 2 + kind) * n_kv_heads + head) * block_tokens * row_bytes();
  }
  // Blocks a sequence of `positions` positions needs.
  uint32_t blocks_for(uint32_t positions) const { return (positions + block_tokens - 1) / block_tokens; }
};

}  // namespace rs::kv
