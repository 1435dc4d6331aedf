#pragma once
// The paged KV pool's shape on the GPU, shared by the attention kernels and
// the pool's device-side helpers (gpu/kv_pool.cuh).
#include <cstddef>
#include <cstdint>

#include "core/model/tensor_type.h"

namespace rs::gpu {

// The KV pool's shape, as kv::KvLayout: a block holds
// [layer][key, value][kv head][position in block] rows of head_dim values.
struct KvShape {
  uint32_t n_layers = 0;
  uint32_t n_kv_heads = 0;
  uint32_t head_dim = 0;  // at most kMaxHeadDim
  uint32_t block_tokens = 16;
  model::TensorType type = model::TensorType::f16;  // f16 or f32 on the GPU
  size_t row_bytes() const { return size_t(head_dim) * (type == model::TensorType::f32 ? 4 : 2); }
  size_t block_bytes() const { return size_t(n_layers) * 2 * n_kv_heads * block_tokens * row_bytes(); }
};

constexpr uint32_t kMaxHeadDim = 256;

}  // namespace rs::gpu
