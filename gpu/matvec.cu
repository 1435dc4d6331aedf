// matvec: one warp per weight row; each lane dequantizes 32-value chunks of
// the row into registers and meets every token of the batch there, so the
// weights stream through once. Tokens are a template bucket (1 to 64) so the
// per-token sums live in registers.
#include <cuda_runtime.h>

#include <cstdint>
#include <stdexcept>
#include <string>

#include "gpu/cuda_check.h"
#include "gpu/dequantize.cuh"
#include "gpu/matvec.h"

namespace rs::gpu {
namespace {

constexpr int kWarp = 32;
constexpr int kRowsPerBlock = 4;  // warps per thread block, one row each

template <class Reader, int kTokens>
__global__ void matvec_kernel(const uint8_t* w, int rows, int cols, size_t row_bytes, const float* x, int tokens,
                              float* y) {
  const int row = blockIdx.x * kRowsPerBlock + threadIdx.y;
  if (row >= rows) return;
  const uint8_t* weights = w + size_t(row) * row_bytes;
  float sums[kTokens] = {};
  for (int c = threadIdx.x * kChunk; c < cols; c += kWarp * kChunk) {
    float v[kChunk];
    Reader::values(weights, c, v);
#pragma unroll
    for (int t = 0; t < kTokens; ++t) {
      if (t >= tokens) break;
      const float4* xt = reinterpret_cast<const float4*>(x + size_t(t) * cols + c);
      float s = 0.0f;
#pragma unroll
      for (int i = 0; i < kChunk / 4; ++i) {
        const float4 a = xt[i];
        s += v[4 * i] * a.x + v[4 * i + 1] * a.y + v[4 * i + 2] * a.z + v[4 * i + 3] * a.w;
      }
      sums[t] += s;
    }
  }
#pragma unroll
  for (int t = 0; t < kTokens; ++t) {
    if (t >= tokens) break;
    float s = sums[t];
    for (int offset = kWarp / 2; offset > 0; offset /= 2) s += __shfl_down_sync(0xffffffffu, s, offset);
    if (threadIdx.x == 0) y[size_t(t) * rows + row] = s;
  }
}

template <class Reader>
void launch(const std::byte* w, size_t rows, size_t cols, size_t row_bytes, const float* x, size_t tokens, float* y,
            cudaStream_t stream) {
  const dim3 block(kWarp, kRowsPerBlock);
  const dim3 grid(unsigned((rows + kRowsPerBlock - 1) / kRowsPerBlock));
  const auto* bytes = reinterpret_cast<const uint8_t*>(w);
  const int n = int(tokens);
  if (tokens <= 1) {
    matvec_kernel<Reader, 1><<<grid, block, 0, stream>>>(bytes, int(rows), int(cols), row_bytes, x, n, y);
  } else if (tokens <= 4) {
    matvec_kernel<Reader, 4><<<grid, block, 0, stream>>>(bytes, int(rows), int(cols), row_bytes, x, n, y);
  } else if (tokens <= 16) {
    matvec_kernel<Reader, 16><<<grid, block, 0, stream>>>(bytes, int(rows), int(cols), row_bytes, x, n, y);
  } else {
    matvec_kernel<Reader, 64><<<grid, block, 0, stream>>>(bytes, int(rows), int(cols), row_bytes, x, n, y);
  }
  check_launch("matvec");
}

}  // namespace

bool matvec_reads(model::TensorType type) {
  using model::TensorType;
  switch (type) {
    case TensorType::f32:
    case TensorType::f16:
    case TensorType::bf16:
    case TensorType::q8_0:
    case TensorType::q4_0:
    case TensorType::q4_k:
    case TensorType::q6_k:
      return true;
    default:
      return false;
  }
}

void matvec(model::TensorType type, const std::byte* w, size_t rows, size_t cols, size_t row_bytes, const float* x,
            size_t tokens, float* y, CUstream_st* stream) {
  if (!matvec_reads(type)) {
    throw std::invalid_argument("matvec: no CUDA kernel reads " + std::string(model::info(type).name) + " weights");
  }
  if (tokens == 0 || tokens > kMaxMatvecTokens) {
    throw std::invalid_argument("matvec: " + std::to_string(tokens) + " tokens, not 1 to 64");
  }
  if (cols % model::info(type).block_elements != 0 || cols % kChunk != 0) {
    throw std::invalid_argument("matvec: " + std::to_string(cols) + " columns are not whole " +
                                std::string(model::info(type).name) + " blocks of 32");
  }
  with_reader(type, [&](auto reader) { launch<decltype(reader)>(w, rows, cols, row_bytes, x, tokens, y, stream); });
}

}  // namespace rs::gpu
