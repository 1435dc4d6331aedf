#pragma once
// The kernels behind matmul(), one per family of weight types, each dispatched
// to the best SIMD target; and the form k-quant weights take for theirs.
//
// q4_0 and q8_0 rows are interleaved at load (interleaved_rows.h). Every
// k-quant type becomes the same form, so that one integer dot product serves
// them all: a row of unsigned bytes u with, per sub-block of values, a float
// scale and bias,
//
//   weight[i] = scale[j] · u[i] + bias[j],   j = i / sub_block,
//
// and a row dotted with a token's int8 activations a (scale s[j], and sums[j]
// = s[j] · the sub-block's Σ a) is
//
//   Σ_j scale[j] · s[j] · Σ_i u[i] a[i]  +  Σ_j bias[j] · sums[j].
//
// The integer sums are exact (vpdpbusd's u8 × i8 in 32-bit lanes of 4 values);
// the scales are exact products of the file's fp16 scales and small integers.
//   q4_K, q5_K: u = q,    scale = d·sc, bias = −dmin·m   (sub-blocks of 32)
//   q6_K: u = q,          scale = d·sc, bias = −32·d·sc  (16)
#include <cstddef>
#include <cstdint>

#include "core/kernels/activations.h"
#include "core/kernels/matrix.h"
#include "core/model/tensor_type.h"

namespace rs::kernels {

// A few rows in the form above. The kernels read their values from here when
// many tokens share them, or straight from the matrix when few do.
struct UnpackedRows {
  size_t rows = 0;
  size_t padded_cols = 0;  // values per row, a multiple of kVectorBytes
  size_t sub_block = 0;
  uint8_t* values = nullptr;  // rows × padded_cols
  float* scales = nullptr;    // rows × stride(): sub-block j's at [j]
  float* biases = nullptr;    // rows × stride()

  size_t stride() const { return sub_block_stride(padded_cols, sub_block); }
  uint8_t* row_values(size_t r) const { return values + r * padded_cols; }
  float* row_scales(size_t r) const { return scales + r * stride(); }
  float* row_biases(size_t r) const { return biases + r * stride(); }
};

// Rows unpacked at a time, the capacity of the UnpackedRows given below.
constexpr size_t kTileRows = 4;

// y[t * y_stride + r] for rows [row_begin, row_end) of interleaved q4_0 or q8_0
// weights, and of q4_K, q5_K or q6_K weights (each family dispatched to the
// best target).
void matmul_q4_0_q8_0(const Matrix& w, const Activations& x, float* y, size_t y_stride, size_t row_begin,
                      size_t row_end);
void matmul_kquants(const Matrix& w, const Activations& x, float* y, size_t y_stride, size_t row_begin, size_t row_end,
                    UnpackedRows& tile);

// The same for f32, f16 or bf16 weights.
void matmul_float(const Matrix& w, const Activations& x, float* y, size_t y_stride, size_t row_begin, size_t row_end);

}  // namespace rs::kernels
