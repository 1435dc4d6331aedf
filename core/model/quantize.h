#pragma once
// ggml's quantized block layouts and scalar reference kernels: rows of blocks
// to fp32 and back, bit for bit as ggml-quants.c (dequantize_row_*,
// quantize_row_*_ref). The SIMD and CUDA kernels are tested against these.
#include <cstddef>
#include <cstdint>

#include "core/model/tensor_type.h"

namespace rs::model {

constexpr size_t kQK4_0 = 32;   // values per q4_0 block
constexpr size_t kQK8_0 = 32;   // values per q8_0 block
constexpr size_t kQK_K = 256;   // values per k-quant super-block
constexpr size_t kKScaleBytes = 12;  // 8 packed 6-bit scales and 8 mins of q4_K / q5_K

// fp16 fields are raw IEEE half bits (see half.h); all structs are packed by
// construction (every field is 1- or 2-byte aligned and the sizes are even).

// value = (q − 8) · d; value j < 16 is the low nibble of qs[j], j ≥ 16 the high
// nibble of qs[j − 16].
struct block_q4_0 {
  uint16_t d;
  uint8_t qs[kQK4_0 / 2];
};

// value = qs · d.
struct block_q8_0 {
  uint16_t d;
  int8_t qs[kQK8_0];
};

// 8 sub-blocks of 32; value = d · scale · q − dmin · min, with a 6-bit scale
// and min per sub-block (scale_min_k4). Each 64 values take 32 bytes of qs:
// the low nibbles are the first 32 values, the high nibbles the next 32.
struct block_q4_K {
  uint16_t d;
  uint16_t dmin;
  uint8_t scales[kKScaleBytes];
  uint8_t qs[kQK_K / 2];
};

// q4_K plus a 5th bit per value: values 64k + l and 64k + 32 + l (l < 32)
// keep it in bits 2k and 2k + 1 of qh[l].
struct block_q5_K {
  uint16_t d;
  uint16_t dmin;
  uint8_t scales[kKScaleBytes];
  uint8_t qh[kQK_K / 8];
  uint8_t qs[kQK_K / 2];
};

// 16 sub-blocks of 16; value = d · scales[s] · (q − 32) with a 6-bit q: low
// 4 bits in ql, high 2 bits in qh (order as in ggml's dequantize_row_q6_K).
struct block_q6_K {
  uint8_t ql[kQK_K / 2];
  uint8_t qh[kQK_K / 4];
  int8_t scales[kQK_K / 16];
  uint16_t d;
};

// Sizes as tensor_type.h declares them (tests check them against info()).
static_assert(sizeof(block_q4_0) == 18);
static_assert(sizeof(block_q8_0) == 34);
static_assert(sizeof(block_q4_K) == 144);
static_assert(sizeof(block_q5_K) == 176);
static_assert(sizeof(block_q6_K) == 210);

// Sub-block j's 6-bit scale and min from the 12 packed bytes of q4_K / q5_K
// (ggml's get_scale_min_k4).
struct ScaleMin {
  uint8_t scale;
  uint8_t min;
};
ScaleMin scale_min_k4(const uint8_t* scales, int j);

// `n` values from a row of `type` at `src` into `dst`. Throws
// std::invalid_argument unless `n` is a whole number of blocks.
void dequantize_row(TensorType type, const void* src, float* dst, size_t n);

// `n` values into a row of `type` at `dst`: f32, f16, bf16, q8_0, q4_0
// (k-quants throw std::invalid_argument, as does a partial block).
void quantize_row(TensorType type, const float* src, void* dst, size_t n);

}  // namespace rs::model
