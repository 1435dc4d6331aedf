#include "core/kernels/matrix.h"

#include <cstring>
#include <vector>

#include "core/model/quantize.h"

namespace rs::kernels {

Matrix prepare_matrix(model::TensorType type, std::byte* data, size_t rows, size_t cols, size_t row_bytes) {
  Matrix m{type, data, rows, cols, row_bytes};
  if (!interleaved_type(type)) return m;
  std::vector<std::byte> file_row(row_bytes);
  for (size_t r = 0; r < rows; ++r) {
    std::memcpy(file_row.data(), data + r * row_bytes, row_bytes);
    interleave_row(type, file_row.data(), cols, data + r * row_bytes);
  }
  m.interleaved = true;
  return m;
}

void dequantize_row(const Matrix& m, size_t r, float* out) {
  if (!m.interleaved) return model::dequantize_row(m.type, m.row(r), out, m.cols);
  thread_local std::vector<std::byte> file_row;
  file_row.resize(m.row_bytes);
  deinterleave_row(m.type, m.row(r), m.cols, file_row.data());
  model::dequantize_row(m.type, file_row.data(), out, m.cols);
}

}  // namespace rs::kernels
