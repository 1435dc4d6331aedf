// Gemm: cublasGemmEx for prefill. f32, f16 and bf16 weights are multiplied
// where they lie; quantized ones are dequantized to f16 a tile of rows at a
// time (one thread per 32 values, with matvec's readers), each tile's GEMM
// writing its rows of y in place.
#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "gpu/cublas_library.h"
#include "gpu/cuda_check.h"
#include "gpu/dequantize.cuh"
#include "gpu/gemm.h"
#include "gpu/matvec.h"

namespace rs::gpu {
namespace {

constexpr int kThreads = 256;
constexpr size_t kMaxInt = INT_MAX;       // cuBLAS's sizes and leading dimensions are ints
constexpr size_t kTileRowMultiple = 16;  // keeps every tile's rows of y (y + row0) 64-byte aligned for cuBLAS

void check_cublas(cublasStatus_t status, const char* call) {
  if (status != CUBLAS_STATUS_SUCCESS) {
    throw std::runtime_error(std::string("cuBLAS ") + call + ": " + cublas().status_string(status));
  }
}

unsigned blocks_for(size_t n) { return unsigned((n + kThreads - 1) / kThreads); }

__device__ inline void store(__half* p, float v) { *p = __float2half_rn(v); }
__device__ inline void store(__nv_bfloat16* p, float v) { *p = __float2bfloat16_rn(v); }

template <class T>
__global__ void convert_kernel(const float* x, size_t n, T* out) {
  const size_t i = size_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) store(out + i, x[i]);
}

__device__ inline uint32_t pack_halves(float low, float high) {
  return uint32_t(__half_as_ushort(__float2half_rn(low))) | uint32_t(__half_as_ushort(__float2half_rn(high))) << 16;
}

// Thread i dequantizes chunk i of the tile: values c .. c + 31 of one row. cols
// and c are multiples of 32, so each thread's 64 bytes are 16-byte aligned.
template <class Reader>
__global__ void dequantize_tile_kernel(const uint8_t* w, size_t row_bytes, int cols, size_t chunks, __half* tile) {
  const size_t i = size_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= chunks) return;
  const size_t chunks_per_row = size_t(cols) / kChunk;
  const size_t row = i / chunks_per_row;
  const int c = int(i % chunks_per_row) * kChunk;
  float v[kChunk];
  Reader::values(w + row * row_bytes, c, v);
  uint4* dst = reinterpret_cast<uint4*>(tile + row * cols + c);
#pragma unroll
  for (int q = 0; q < kChunk / 8; ++q) {
    const float* e = v + 8 * q;
    dst[q] = make_uint4(pack_halves(e[0], e[1]), pack_halves(e[2], e[3]), pack_halves(e[4], e[5]),
                        pack_halves(e[6], e[7]));
  }
}

template <class T>
void convert(const float* x, size_t n, T* out, cudaStream_t stream) {
  convert_kernel<T><<<blocks_for(n), kThreads, 0, stream>>>(x, n, out);
  check_launch("gemm activations conversion");
}

// y = x · Wᵀ in f32 sums. Row-major W (rows × cols, ldw apart) is column-major cols × rows, x and y are
// column-major cols × tokens and rows × tokens (ldy apart): y = op_T(W) · x.
void gemm_tn(cublasHandle_t handle, size_t rows, size_t tokens, size_t cols, const void* w, cudaDataType w_type,
             size_t ldw, const void* x, cudaDataType x_type, float* y, size_t ldy) {
  const float one = 1.0f, zero = 0.0f;
  check_cublas(cublas().gemm_ex(handle, CUBLAS_OP_T, CUBLAS_OP_N, int(rows), int(tokens), int(cols), &one, w, w_type,
                                int(ldw), x, x_type, int(cols), &zero, y, CUDA_R_32F, int(ldy), CUBLAS_COMPUTE_32F,
                                CUBLAS_GEMM_DEFAULT),
               "cublasGemmEx");
}

const GemmLimits& checked(const GemmLimits& limits) {
  if (limits.max_tokens == 0 || limits.max_rows == 0 || limits.max_cols == 0 || limits.max_tokens > kMaxInt ||
      limits.max_rows > kMaxInt || limits.max_cols > kMaxInt) {
    throw std::invalid_argument("Gemm: limits of " + std::to_string(limits.max_tokens) + " tokens, " +
                                std::to_string(limits.max_rows) + " rows, " + std::to_string(limits.max_cols) +
                                " columns: each must be 1 to " + std::to_string(kMaxInt));
  }
  if (limits.max_tile_bytes < limits.max_cols * sizeof(__half)) {
    throw std::invalid_argument("Gemm: a tile of " + std::to_string(limits.max_tile_bytes) + " bytes holds no row of " +
                                std::to_string(limits.max_cols) + " f16 values");
  }
  return limits;
}

size_t tile_bytes(const GemmLimits& limits) {
  const size_t rows = (limits.max_rows + kTileRowMultiple - 1) / kTileRowMultiple * kTileRowMultiple;
  return std::min(limits.max_tile_bytes, rows * limits.max_cols * sizeof(__half));
}

}  // namespace

Gemm::Gemm(const GemmLimits& limits)
    : limits_(checked(limits)),
      activations_(limits.max_tokens * limits.max_cols * sizeof(__half)),
      tile_(tile_bytes(limits)),
      workspace_(kWorkspaceBytes) {
  cublasHandle_t handle = nullptr;
  check_cublas(cublas().create(&handle), "cublasCreate");
  handle_.reset(handle);
  // Default math: f32 GEMMs stay in f32, never on TF32 tensor cores, so f32 models keep the CPU's greedy tokens.
  check_cublas(cublas().set_math_mode(handle, CUBLAS_DEFAULT_MATH), "cublasSetMathMode");
}

void Gemm::DestroyHandle::operator()(cublasContext* handle) const { cublas().destroy(handle); }

size_t Gemm::tile_rows(size_t cols) const {
  if (cols == 0 || cols > limits_.max_cols) return 0;
  const size_t rows = tile_.size() / sizeof(__half) / cols;
  return rows >= kTileRowMultiple ? rows - rows % kTileRowMultiple : rows;
}

void Gemm::multiply(model::TensorType type, const std::byte* w, size_t rows, size_t cols, size_t row_bytes,
                    const float* x, size_t tokens, float* y, CUstream_st* stream) {
  using model::TensorType;
  const model::TensorTypeInfo& layout = model::info(type);
  const std::string name(layout.name);
  if (!matvec_reads(type)) throw std::invalid_argument("Gemm: no CUDA kernel reads " + name + " weights");
  if (cols == 0 || cols % layout.block_elements != 0 || cols % kChunk != 0) {
    throw std::invalid_argument("Gemm: " + std::to_string(cols) + " columns are not whole " + name +
                                " blocks of 32");
  }
  if (tokens == 0 || tokens > limits_.max_tokens || cols > limits_.max_cols || rows > kMaxInt) {
    throw std::invalid_argument("Gemm: " + std::to_string(tokens) + " tokens × " + std::to_string(cols) +
                                " columns, " + std::to_string(rows) + " rows: past the limits of 1 to " +
                                std::to_string(limits_.max_tokens) + " tokens × " +
                                std::to_string(limits_.max_cols) + " columns");
  }
  // f32, f16 and bf16 rows are cuBLAS's leading dimension, so they must be whole values apart.
  const bool in_place = layout.block_elements == 1;
  if (row_bytes < cols / layout.block_elements * layout.block_bytes ||
      (in_place && (row_bytes % layout.block_bytes != 0 || row_bytes / layout.block_bytes > kMaxInt))) {
    throw std::invalid_argument("Gemm: rows " + std::to_string(row_bytes) + " bytes apart cannot hold " +
                                std::to_string(cols) + " " + name + " values");
  }
  if (rows == 0) return;

  cublasHandle_t handle = handle_.get();
  check_cublas(cublas().set_stream(handle, stream), "cublasSetStream");
  // cublasSetStream puts the handle back on cuBLAS's own workspace pool, which may allocate: ours after it.
  check_cublas(cublas().set_workspace(handle, workspace_.data(), workspace_.size()), "cublasSetWorkspace");
  const size_t ldw = row_bytes / layout.block_bytes;
  switch (type) {
    case TensorType::f32:
      gemm_tn(handle, rows, tokens, cols, w, CUDA_R_32F, ldw, x, CUDA_R_32F, y, rows);
      return;
    case TensorType::f16:
      convert(x, tokens * cols, activations_.as<__half>(), stream);
      gemm_tn(handle, rows, tokens, cols, w, CUDA_R_16F, ldw, activations_.data(), CUDA_R_16F, y, rows);
      return;
    case TensorType::bf16:
      // bf16 × bf16 where the weights lie: f16 cannot hold bf16's range, f32 would give up the tensor cores, and
      // bf16 activations are what bf16 models were trained with.
      convert(x, tokens * cols, activations_.as<__nv_bfloat16>(), stream);
      gemm_tn(handle, rows, tokens, cols, w, CUDA_R_16BF, ldw, activations_.data(), CUDA_R_16BF, y, rows);
      return;
    default:
      break;
  }
  convert(x, tokens * cols, activations_.as<__half>(), stream);
  const size_t tile = tile_rows(cols);
  const auto* bytes = reinterpret_cast<const uint8_t*>(w);
  with_reader(type, [&](auto reader) {
    for (size_t row0 = 0; row0 < rows; row0 += tile) {  // stream order keeps a tile until its GEMM has read it
      const size_t tile_rows_now = std::min(tile, rows - row0), chunks = tile_rows_now * (cols / kChunk);
      dequantize_tile_kernel<decltype(reader)><<<blocks_for(chunks), kThreads, 0, stream>>>(
          bytes + row0 * row_bytes, row_bytes, int(cols), chunks, tile_.as<__half>());
      check_launch("gemm dequantize_tile");
      gemm_tn(handle, tile_rows_now, tokens, cols, tile_.data(), CUDA_R_16F, cols, activations_.data(), CUDA_R_16F,
              y + row0, rows);
    }
  });
}

}  // namespace rs::gpu
