#pragma once
// GGUF weight blocks read on the device, 32 values at a time: one reader per
// weight type, shared by the matrix kernels and the embedding lookup.
#include <cuda_fp16.h>

#include <cstdint>

#include "core/model/quantize.h"

namespace rs::gpu {

constexpr int kChunk = 32;  // values a reader gives at a time

__device__ inline float half_to_float(uint16_t bits) { return __half2float(__ushort_as_half(bits)); }
__device__ inline float bf16_to_float(uint16_t bits) { return __uint_as_float(uint32_t(bits) << 16); }

// Values c .. c + 31 of a row (c a multiple of 32), per weight type.
struct F32 {
  __device__ static void values(const uint8_t* row, int c, float* v) {
    const float* p = reinterpret_cast<const float*>(row) + c;
    for (int i = 0; i < kChunk; ++i) v[i] = p[i];
  }
};
struct F16 {
  __device__ static void values(const uint8_t* row, int c, float* v) {
    const uint16_t* p = reinterpret_cast<const uint16_t*>(row) + c;
    for (int i = 0; i < kChunk; ++i) v[i] = half_to_float(p[i]);
  }
};
struct BF16 {
  __device__ static void values(const uint8_t* row, int c, float* v) {
    const uint16_t* p = reinterpret_cast<const uint16_t*>(row) + c;
    for (int i = 0; i < kChunk; ++i) v[i] = bf16_to_float(p[i]);
  }
};
// Blocks are read a byte at a time: GGUF's 18- and 34-byte blocks are only 2-byte aligned.
__device__ inline uint16_t load_u16(const uint8_t* p) { return uint16_t(p[0] | (p[1] << 8)); }

struct Q8_0 {  // d, then 32 int8
  __device__ static void values(const uint8_t* row, int c, float* v) {
    const uint8_t* block = row + (c / 32) * sizeof(model::block_q8_0);
    const float d = half_to_float(load_u16(block));
    for (int i = 0; i < kChunk; ++i) v[i] = d * float(int8_t(block[2 + i]));
  }
};
struct Q4_0 {  // d, then 16 bytes: value i < 16 the low nibble of byte i, else the high one of byte i - 16; minus 8
  __device__ static void values(const uint8_t* row, int c, float* v) {
    const uint8_t* block = row + (c / 32) * sizeof(model::block_q4_0);
    const float d = half_to_float(load_u16(block));
    for (int i = 0; i < 16; ++i) {
      v[i] = d * float(int(block[2 + i] & 0x0F) - 8);
      v[i + 16] = d * float(int(block[2 + i] >> 4) - 8);
    }
  }
};
struct Q4_K {  // per 32-value sub-block j: d · scale_j · q − dmin · min_j
  __device__ static void values(const uint8_t* row, int c, float* v) {
    const auto* block = reinterpret_cast<const model::block_q4_K*>(row) + c / model::kQK_K;
    const int j = (c % model::kQK_K) / 32;
    const uint8_t* q = block->scales;
    const int sc = j < 4 ? q[j] & 63 : (q[j + 4] & 0x0F) | ((q[j - 4] >> 6) << 4);
    const int m = j < 4 ? q[j + 4] & 63 : (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
    const float d = half_to_float(block->d) * float(sc), min = half_to_float(block->dmin) * float(m);
    const uint8_t* qs = block->qs + (j / 2) * 32;
    for (int i = 0; i < kChunk; ++i) {  // rounded as ggml does, not fused into one multiply-add
      v[i] = __fsub_rn(__fmul_rn(d, float(j % 2 == 0 ? qs[i] & 0x0F : qs[i] >> 4)), min);
    }
  }
};
struct Q6_K {  // per 16 values: d · scale · (q − 32), q's low 4 bits in ql, high 2 in qh
  __device__ static void values(const uint8_t* row, int c, float* v) {
    const auto* block = reinterpret_cast<const model::block_q6_K*>(row) + c / model::kQK_K;
    const int half = (c % model::kQK_K) / 128, group = (c % 128) / 32;  // values 128·half + 32·group + l
    const uint8_t* ql = block->ql + 64 * half + (group % 2) * 32;
    const uint8_t* qh = block->qh + 32 * half;
    const int8_t* scales = block->scales + 8 * half + 2 * group;
    const float d = half_to_float(block->d);
    for (int l = 0; l < kChunk; ++l) {
      const int low = group < 2 ? ql[l] & 0x0F : ql[l] >> 4;
      const int q = (low | (((qh[l] >> (2 * group)) & 3) << 4)) - 32;
      v[l] = d * float(scales[l / 16]) * float(q);
    }
  }
};

// Calls f(Reader{}) with the reader of `type` (one the kernels read).
template <class F>
void with_reader(model::TensorType type, F f) {
  using model::TensorType;
  switch (type) {
    case TensorType::f32:
      return f(F32{});
    case TensorType::f16:
      return f(F16{});
    case TensorType::bf16:
      return f(BF16{});
    case TensorType::q8_0:
      return f(Q8_0{});
    case TensorType::q4_0:
      return f(Q4_0{});
    case TensorType::q4_k:
      return f(Q4_K{});
    default:
      return f(Q6_K{});
  }
}

}  // namespace rs::gpu
