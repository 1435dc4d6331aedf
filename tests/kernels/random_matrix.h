#pragma once
// Random weight matrices of every type, for the kernels' tests and benchmark:
// quantized from uniform floats by model::quantize_row where it can; k-quant
// blocks of random bytes with fp16 scales in a sane range otherwise.
#include <cstddef>
#include <cstring>
#include <random>
#include <vector>

#include "core/kernels/matmul.h"
#include "core/model/half.h"
#include "core/model/quantize.h"
#include "core/model/tensor_type.h"

namespace rs::kernels {

inline std::vector<float> uniform_floats(size_t n, std::mt19937& rng, float lo = -1.0f, float hi = 1.0f) {
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (float& f : v) f = dist(rng);
  return v;
}

struct RandomMatrix {
  model::TensorType type;
  size_t rows = 0, cols = 0, row_bytes = 0;
  std::vector<std::byte> bytes;     // as a file stores them
  std::vector<std::byte> prepared;  // as matmul reads them (prepare_matrix)

  Matrix matrix() const {
    Matrix m{type, prepared.data(), rows, cols, row_bytes};
    m.interleaved = interleaved_type(type);
    return m;
  }

  // Row r as the file's values: the scalar reference every kernel must match.
  std::vector<float> dequantized_row(size_t r) const {
    std::vector<float> out(cols);
    model::dequantize_row(type, bytes.data() + r * row_bytes, out.data(), cols);
    return out;
  }
};

namespace random_matrix_detail {

inline uint16_t random_fp16(std::mt19937& rng, float lo, float hi) {
  return model::fp32_to_fp16(std::uniform_real_distribution<float>(lo, hi)(rng));
}

// Random bytes everywhere, then sane fp16 scales over them.
template <class Block>
void fill_kquant_blocks(std::byte* data, size_t n, std::mt19937& rng) {
  std::uniform_int_distribution<int> byte(0, 255);
  for (size_t i = 0; i < n * sizeof(Block); ++i) data[i] = std::byte(byte(rng));
  auto* blocks = reinterpret_cast<Block*>(data);
  for (size_t i = 0; i < n; ++i) {
    blocks[i].d = random_fp16(rng, 1e-4f, 1e-2f);
    if constexpr (requires { blocks[i].dmin; }) blocks[i].dmin = random_fp16(rng, 1e-4f, 1e-2f);
  }
}

}  // namespace random_matrix_detail

inline RandomMatrix random_matrix(model::TensorType type, size_t rows, size_t cols, std::mt19937& rng) {
  using model::TensorType;
  RandomMatrix m{type, rows, cols, *model::tensor_bytes(type, cols), {}, {}};
  m.bytes.resize(rows * m.row_bytes);
  const size_t blocks = rows * cols / model::kQK_K;
  switch (type) {
    case TensorType::q4_k:
      random_matrix_detail::fill_kquant_blocks<model::block_q4_K>(m.bytes.data(), blocks, rng);
      break;
    case TensorType::q5_k:
      random_matrix_detail::fill_kquant_blocks<model::block_q5_K>(m.bytes.data(), blocks, rng);
      break;
    case TensorType::q6_k:
      random_matrix_detail::fill_kquant_blocks<model::block_q6_K>(m.bytes.data(), blocks, rng);
      break;
    default:
      for (size_t r = 0; r < rows; ++r) {
        const std::vector<float> row = uniform_floats(cols, rng);
        model::quantize_row(type, row.data(), m.bytes.data() + r * m.row_bytes, cols);
      }
  }
  m.prepared = m.bytes;
  prepare_matrix(type, m.prepared.data(), rows, cols, m.row_bytes);
  return m;
}

}  // namespace rs::kernels
