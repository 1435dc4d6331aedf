#pragma once
// Weight matrix × activations, reading each weight in the type the file
// stores it: the kernel every projection and the LM head run through.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/model/tensor_type.h"

namespace rs::kernels {

// A weight matrix as the file stores it: `rows` rows of `cols` values of
// `type`, row-major (ggml's shape[0] == cols), each row `row_bytes` long.
struct Matrix {
  model::TensorType type = model::TensorType::f32;
  const std::byte* data = nullptr;
  size_t rows = 0;
  size_t cols = 0;
  size_t row_bytes = 0;

  const std::byte* row(size_t r) const { return data + r * row_bytes; }
};

// A batch of activation rows in the form a weight type's dot product reads:
// f32 for float weights, 8-bit integers for quantized ones (as llama.cpp does),
// quantized once and shared by every matrix of the same type that reads them.
//
// Quantized rows follow ggml: q8_0 blocks of 32 (fp16-rounded d = amax / 127,
// q = round(x / d)) for q4_0 and q8_0 weights, q8_K blocks of 256 (d = max / -127,
// nearest-even q) for k-quants. They are stored split: each token's int8 values
// contiguous and zero-padded to a whole number of SIMD vectors, then per
// sub-block of sub_block() values (the weights': 32, or 16 for q6_K as ggml's
// bsums) its scale d and its sum, d × the sub-block's integer sum (the term
// that quantized weights' offsets and k-quant mins multiply).
class Activations {
 public:
  // Prepares `n_tokens` rows of `cols` floats at `x` (row stride `cols`) for
  // weights of `weight_type`. Reuses its memory: no allocation once warm.
  // Throws std::invalid_argument unless `cols` is whole blocks of that type.
  void prepare(model::TensorType weight_type, const float* x, size_t n_tokens, size_t cols);

  model::TensorType weight_type() const { return weight_type_; }
  size_t tokens() const { return n_tokens_; }
  size_t cols() const { return cols_; }
  const float* f32_row(size_t t) const { return f32_ + t * cols_; }

  // Quantized rows (for quantized weight types only).
  size_t sub_block() const { return sub_block_; }
  size_t padded_cols() const { return padded_cols_; }
  const int8_t* q8_row(size_t t) const { return reinterpret_cast<const int8_t*>(memory_.data()) + t * padded_cols_; }
  const float* q8_scales(size_t t) const { return floats() + scales_ + t * sums_stride_; }
  const float* q8_sums(size_t t) const { return floats() + sums_ + t * sums_stride_; }

 private:
  struct alignas(64) Line {  // the unit of memory_, so that every vector load is aligned
    std::byte bytes[64];
  };
  const float* floats() const { return reinterpret_cast<const float*>(memory_.data()); }

  model::TensorType weight_type_ = model::TensorType::f32;
  size_t n_tokens_ = 0, cols_ = 0;
  const float* f32_ = nullptr;  // float weights read the caller's rows directly
  size_t sub_block_ = 0, padded_cols_ = 0, sums_stride_ = 0;
  size_t scales_ = 0, sums_ = 0;  // offsets in floats from the start of memory_
  std::vector<Line> memory_;      // all tokens' values, then their scales, then their sums
};

// y[t * y_stride + r] = dot(row r of w, activation row t), for rows
// [row_begin, row_end) and every prepared token. Threads split the rows. A
// token's results are the same, bit for bit, whatever batch it comes in and
// however the rows are split (on any one SIMD target).
void matmul(const Matrix& w, const Activations& x, float* y, size_t y_stride, size_t row_begin, size_t row_end);

}  // namespace rs::kernels
