// matmul: float, q4_0 and q8_0 weights go straight to their kernel; k-quants
// to theirs with this thread's scratch for the rows it unpacks.
#include "core/kernels/matmul.h"

#include <stdexcept>
#include <string>
#include <vector>

#include "core/kernels/matmul_kernels.h"
#include "core/model/quantize.h"

namespace rs::kernels {
namespace {

// kTileRows unpacked rows' memory, reused by every call on this thread.
class Scratch {
 public:
  UnpackedRows rows(size_t padded_cols, size_t sub_block) {
    UnpackedRows out{kTileRows, padded_cols, sub_block};
    const size_t value_bytes = kTileRows * padded_cols;  // a multiple of kVectorBytes, as are the scales
    const size_t scale_bytes = kTileRows * out.stride() * sizeof(float);
    const size_t bytes = value_bytes + 2 * scale_bytes;
    if (memory_.size() * sizeof(Line) < bytes) memory_.resize(round_up(bytes, sizeof(Line)) / sizeof(Line));
    auto* base = reinterpret_cast<std::byte*>(memory_.data());
    out.values = reinterpret_cast<uint8_t*>(base);
    out.scales = reinterpret_cast<float*>(base + value_bytes);
    out.biases = reinterpret_cast<float*>(base + value_bytes + scale_bytes);
    return out;
  }

 private:
  struct alignas(kVectorBytes) Line {
    std::byte bytes[kVectorBytes];
  };
  std::vector<Line> memory_;
};

// Whether activations prepared for weights of type `a` serve type `b`: the
// same quantization (q8_0 or q8_K) with sums over the same sub-blocks.
bool same_activations(model::TensorType a, model::TensorType b) {
  return sub_block_values(a) == sub_block_values(b) && model::info(a).block_elements == model::info(b).block_elements;
}

}  // namespace

void matmul(const Matrix& w, const Activations& x, float* y, size_t y_stride, size_t row_begin, size_t row_end) {
  if (x.cols() != w.cols || !same_activations(x.weight_type(), w.type)) {
    throw std::invalid_argument("matmul: activations prepared for " + std::to_string(x.cols()) + " " +
                                std::string(model::info(x.weight_type()).name) + " columns, not " +
                                std::to_string(w.cols) + " " + std::string(model::info(w.type).name));
  }
  if (row_end > w.rows || row_begin > row_end) throw std::out_of_range("matmul: row range outside the matrix");
  if (interleaved_type(w.type) != w.interleaved) {
    throw std::invalid_argument("matmul: " + std::string(model::info(w.type).name) +
                                " rows must come from prepare_matrix");
  }
  if (x.tokens() == 0 || row_begin == row_end) return;

  thread_local Scratch scratch;
  switch (w.type) {
    case model::TensorType::f32:
    case model::TensorType::f16:
    case model::TensorType::bf16:
      return matmul_float(w, x, y, y_stride, row_begin, row_end);
    case model::TensorType::q4_0:
    case model::TensorType::q8_0:
      return matmul_q4_0_q8_0(w, x, y, y_stride, row_begin, row_end);
    case model::TensorType::q4_k:
    case model::TensorType::q5_k:
    case model::TensorType::q6_k: {
      UnpackedRows tile = scratch.rows(x.padded_cols(), x.sub_block());
      return matmul_kquants(w, x, y, y_stride, row_begin, row_end, tile);
    }
  }
}

}  // namespace rs::kernels
