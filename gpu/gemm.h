#pragma once
// Prefill's matrix × many tokens on the GPU, past kMaxMatvecTokens: cuBLAS
// GEMMs on tensor cores, quantized weights dequantized to f16 a tile of rows
// at a time into bounded scratch, activations converted to f16 once per call.
#include <cstddef>
#include <memory>

#include "core/model/tensor_type.h"
#include "gpu/device_buffer.h"

struct CUstream_st;    // cudaStream_t, without the CUDA headers
struct cublasContext;  // cublasHandle_t, without the cuBLAS headers

namespace rs::gpu {

// The largest call a Gemm serves, and its bound on the weight tile.
struct GemmLimits {
  size_t max_tokens = 0;
  size_t max_rows = 0;  // of the largest matrix: keeps the tile no larger than it needs; more rows take more tiles
  size_t max_cols = 0;
  size_t max_tile_bytes = size_t{64} << 20;  // quantized weights dequantized to f16, whatever the matrix
};

// Owns a cuBLAS handle and all its device scratch, allocated by the constructor:
// multiply never allocates, so it may be captured in a CUDA graph. The scratch
// is reused call after call in stream order, so calls on different streams must
// not overlap; one Gemm per stream, or the caller orders them.
class Gemm {
 public:
  static constexpr size_t kWorkspaceBytes = size_t{32} << 20;  // cuBLAS's recommended workspace on Hopper

  // Throws std::invalid_argument for a limit of 0 or past a cuBLAS int, or a
  // tile that holds no row of max_cols values.
  explicit Gemm(const GemmLimits& limits);

  // As matvec, for any token count: y[t * rows + r] = Σ_c W[r][c] · x[t * cols + c]
  // for t < tokens, with W's `rows` rows of `cols` values `row_bytes` apart in
  // their file type. Pointers are device memory; the work is queued on `stream`.
  // f32 weights multiply in f32 (no TF32); other types round the activations to
  // f16 (bf16 for bf16 weights) and sum in f32. Throws std::invalid_argument for
  // a type matvec cannot read, cols not whole blocks, or tokens or cols past the
  // limits.
  void multiply(model::TensorType type, const std::byte* w, size_t rows, size_t cols, size_t row_bytes,
                const float* x, size_t tokens, float* y, CUstream_st* stream);

  // Rows of `cols` values dequantized per GEMM: a multiple of 16 where 16 fit;
  // 0 for cols outside 1 to max_cols.
  size_t tile_rows(size_t cols) const;
  // Device memory held: activations, weight tile, cuBLAS workspace.
  size_t scratch_bytes() const { return activations_.size() + tile_.size() + workspace_.size(); }

 private:
  GemmLimits limits_;
  DeviceBuffer activations_;  // x as f16 or bf16: max_tokens × max_cols
  DeviceBuffer tile_;         // f16 weight rows, at most max_tile_bytes
  DeviceBuffer workspace_;    // cuBLAS's, set on every call so the handle never allocates
  struct DestroyHandle {
    void operator()(cublasContext* handle) const;
  };
  std::unique_ptr<cublasContext, DestroyHandle> handle_;
};

}  // namespace rs::gpu
