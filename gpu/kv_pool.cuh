#pragma once
// The paged KV pool as the attention kernels read it (gpu/attention.cu,
// gpu/prefill_attention.cu): KvShape's numbers for the device, where a row
// is, one value of a row, and the host-side checks of the shapes they take.
#include <cuda_fp16.h>

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "gpu/kv_shape.h"

namespace rs::gpu::kv_pool {

struct Shape {  // KvShape's numbers for the device
  int n_kv_heads, head_dim, block_tokens;
  size_t row_bytes, block_bytes;
  bool f16;
};

// Where a row is in the pool: kv::KvLayout's arithmetic.
__device__ inline size_t row_offset(const Shape& s, int block, int layer, int kind, int kv_head, int in_block) {
  return size_t(block) * s.block_bytes +
         ((size_t(layer) * 2 + kind) * s.n_kv_heads + kv_head) * s.block_tokens * s.row_bytes +
         size_t(in_block) * s.row_bytes;
}

__device__ inline float load(const Shape& s, const uint8_t* row, int d) {
  return s.f16 ? __half2float(reinterpret_cast<const __half*>(row)[d]) : reinterpret_cast<const float*>(row)[d];
}

inline Shape device_shape(const KvShape& shape) {
  if (shape.type != model::TensorType::f16 && shape.type != model::TensorType::f32) {
    throw std::invalid_argument("CUDA attention: KV rows are f16 or f32, not " +
                                std::string(model::info(shape.type).name));
  }
  if (shape.head_dim == 0 || shape.head_dim > kMaxHeadDim || shape.n_kv_heads == 0 || shape.block_tokens == 0) {
    throw std::invalid_argument("CUDA attention: head_dim " + std::to_string(shape.head_dim) + " (at most " +
                                std::to_string(kMaxHeadDim) + "), " + std::to_string(shape.n_kv_heads) +
                                " KV heads, " + std::to_string(shape.block_tokens) + " tokens per block");
  }
  return {int(shape.n_kv_heads), int(shape.head_dim), int(shape.block_tokens), shape.row_bytes(), shape.block_bytes(),
          shape.type == model::TensorType::f16};
}

// Query heads share KV heads in equal groups (GQA): n_heads / n_kv_heads each.
inline void check_heads(const KvShape& shape, uint32_t n_heads) {
  if (shape.n_kv_heads == 0 || n_heads == 0 || n_heads % shape.n_kv_heads != 0) {
    throw std::invalid_argument("CUDA attention: " + std::to_string(n_heads) + " heads over " +
                                std::to_string(shape.n_kv_heads) + " KV heads");
  }
}

}  // namespace rs::gpu::kv_pool
