#pragma once
// A weight matrix as the kernels read it: in the type the file stores, its
// q4_0 and q8_0 rows rearranged once at load (interleaved_rows.h).
#include <cstddef>
#include <cstdint>

#include "core/kernels/interleaved_rows.h"
#include "core/model/tensor_type.h"

namespace rs::kernels {

// A weight matrix: `rows` rows of `cols` values of `type`, row-major (ggml's
// shape[0] == cols), each row `row_bytes` long, as the file stores them or
// (q4_0 and q8_0, `interleaved`) rearranged as matmul reads them.
struct Matrix {
  model::TensorType type = model::TensorType::f32;
  const std::byte* data = nullptr;
  size_t rows = 0;
  size_t cols = 0;
  size_t row_bytes = 0;
  bool interleaved = false;

  const std::byte* row(size_t r) const { return data + r * row_bytes; }
};

// The matrix matmul reads from the file's rows at `data`, which it rewrites in
// place where matmul wants another layout (q4_0 and q8_0: interleaved_rows.h).
Matrix prepare_matrix(model::TensorType type, std::byte* data, size_t rows, size_t cols, size_t row_bytes);

// Row r of `m` as floats, in either layout.
void dequantize_row(const Matrix& m, size_t r, float* out);

}  // namespace rs::kernels
