#pragma once
// Activation rows in the form a weight type's dot product reads, and the
// padding that form (and the kernels' unpacked rows) share.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/kernels/interleaved_rows.h"
#include "core/model/tensor_type.h"

namespace rs::kernels {

// Rows and activations are padded with zeros to whole vectors of the widest target.
constexpr size_t kVectorBytes = 64;
constexpr size_t round_up(size_t n, size_t m) { return (n + m - 1) / m * m; }

// Values per sub-block of a weight type, the same in its activations: 16 for
// q6_K, 32 for the others.
size_t sub_block_values(model::TensorType weight_type);

// Floats per row of sub-block scales or biases (and of activations' scales and
// sums): zeros to a whole vector past the last sub-block, then one vector more
// for the loads that start at any sub-block.
constexpr size_t sub_block_stride(size_t padded_cols, size_t sub_block) {
  return round_up(padded_cols / sub_block, kVectorBytes / sizeof(float)) + kVectorBytes / sizeof(float);
}

// A batch of activation rows in the form a weight type's dot product reads:
// f32 for float weights, 8-bit integers for quantized ones (as llama.cpp does),
// quantized once and shared by every matrix of the same type that reads them.
//
// Quantized rows follow ggml: q8_0 blocks of 32 (fp16-rounded d = amax / 127,
// q = round(x / d)) for q4_0 and q8_0 weights, in ActivationGroups (see
// interleaved_rows.h); q8_K blocks of 256 (d = max / -127, nearest-even q)
// for k-quants, stored split: each token's int8 values contiguous and
// zero-padded to a whole number of SIMD vectors, then per sub-block of
// sub_block() values (the weights': 16 for q6_K as ggml's bsums, else 32) its
// scale d and its sum, d × the sub-block's integer sum (the term that k-quant
// mins multiply).
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

  // Quantized rows, either form: value i of token t and its block's scale.
  int q8_value(size_t t, size_t i) const;
  float q8_scale(size_t t, size_t i) const;

  // Quantized rows for q4_0 and q8_0 weights: token t's group g.
  const ActivationGroup* group(size_t t, size_t g) const {
    return reinterpret_cast<const ActivationGroup*>(memory_.data()) + t * groups_ + g;
  }

  // Quantized rows for k-quant weights.
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
  size_t groups_ = 0;  // per token, interleaved
  size_t sub_block_ = 0, padded_cols_ = 0, sums_stride_ = 0;
  size_t scales_ = 0, sums_ = 0;  // offsets in floats from the start of memory_
  std::vector<Line> memory_;      // ActivationGroups, or all tokens' values, then their scales, then their sums
};

}  // namespace rs::kernels
