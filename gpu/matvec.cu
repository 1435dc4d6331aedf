// matvec: one warp per weight row; each lane dequantizes 32-value chunks of
// the row into registers and meets every token of the batch there, so the
// weights stream through once. Tokens are a template bucket (1 to 64) so the
// per-token sums live in registers.
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <stdexcept>
#include <string>

#include "core/model/quantize.h"
#include "gpu/matvec.h"

namespace rs::gpu {
namespace {

constexpr int kChunk = 32;  // values a lane dequantizes at a time
constexpr int kWarp = 32;
constexpr int kRowsPerBlock = 4;  // warps per thread block, one row each

__device__ float half_to_float(uint16_t bits) { return __half2float(__ushort_as_half(bits)); }
__device__ float bf16_to_float(uint16_t bits) { return __uint_as_float(uint32_t(bits) << 16); }

// Values c .. c + 31 of a row (c a multiple of 32), per weight type.
struct F32 {
  __device__ static void values(const uint8_t* row, int c, float* v) {
    const float* p = reinterpret_cast<const float*>(row) + c;
    for (int i = 0; i < kChunk; ++i) v[i] = p[i];
  }
};
struct F16 {
  __device__ static void values(const uint8_t* row, int c, float* v) {
    const uint16_t* p = reinterpret_cast<const uint16_t*>(row) + c;
    for (int i = 0; i < kChunk; ++i) v[i] = half_to_float(p[i]);
  }
};
struct BF16 {
  __device__ static void values(const uint8_t* row, int c, float* v) {
    const uint16_t* p = reinterpret_cast<const uint16_t*>(row) + c;
    for (int i = 0; i < kChunk; ++i) v[i] = bf16_to_float(p[i]);
  }
};
// Blocks are read a byte at a time: GGUF's 18- and 34-byte blocks are only 2-byte aligned.
__device__ uint16_t load_u16(const uint8_t* p) { return uint16_t(p[0] | (p[1] << 8)); }

struct Q8_0 {  // d, then 32 int8
  __device__ static void values(const uint8_t* row, int c, float* v) {
    const uint8_t* block = row + (c / 32) * sizeof(model::block_q8_0);
    const float d = half_to_float(load_u16(block));
    for (int i = 0; i < kChunk; ++i) v[i] = d * float(int8_t(block[2 + i]));
  }
};
struct Q4_0 {  // d, then 16 bytes: value i < 16 the low nibble of byte i, else the high one of byte i - 16; minus 8
  __device__ static void values(const uint8_t* row, int c, float* v) {
    const uint8_t* block = row + (c / 32) * sizeof(model::block_q4_0);
    const float d = half_to_float(load_u16(block));
    for (int i = 0; i < 16; ++i) {
      v[i] = d * float(int(block[2 + i] & 0x0F) - 8);
      v[i + 16] = d * float(int(block[2 + i] >> 4) - 8);
    }
  }
};
struct Q4_K {  // per 32-value sub-block j: d · scale_j · q − dmin · min_j
  __device__ static void values(const uint8_t* row, int c, float* v) {
    const auto* block = reinterpret_cast<const model::block_q4_K*>(row) + c / model::kQK_K;
    const int j = (c % model::kQK_K) / 32;
    const uint8_t* q = block->scales;
    const int sc = j < 4 ? q[j] & 63 : (q[j + 4] & 0x0F) | ((q[j - 4] >> 6) << 4);
    const int m = j < 4 ? q[j + 4] & 63 : (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
    const float d = half_to_float(block->d) * float(sc), min = half_to_float(block->dmin) * float(m);
    const uint8_t* qs = block->qs + (j / 2) * 32;
    for (int i = 0; i < kChunk; ++i) v[i] = d * float(j % 2 == 0 ? qs[i] & 0x0F : qs[i] >> 4) - min;
  }
};
struct Q6_K {  // per 16 values: d · scale · (q − 32), q's low 4 bits in ql, high 2 in qh
  __device__ static void values(const uint8_t* row, int c, float* v) {
    const auto* block = reinterpret_cast<const model::block_q6_K*>(row) + c / model::kQK_K;
    const int half = (c % model::kQK_K) / 128, group = (c % 128) / 32;  // values 128·half + 32·group + l
    const uint8_t* ql = block->ql + 64 * half + (group % 2) * 32;
    const uint8_t* qh = block->qh + 32 * half;
    const int8_t* scales = block->scales + 8 * half + 2 * group;
    const float d = half_to_float(block->d);
    for (int l = 0; l < kChunk; ++l) {
      const int low = group < 2 ? ql[l] & 0x0F : ql[l] >> 4;
      const int q = (low | (((qh[l] >> (2 * group)) & 3) << 4)) - 32;
      v[l] = d * float(scales[l / 16]) * float(q);
    }
  }
};

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
  if (const cudaError_t err = cudaGetLastError(); err != cudaSuccess) {
    throw std::runtime_error(std::string("CUDA matvec launch: ") + cudaGetErrorString(err));
  }
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
  using model::TensorType;
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
  switch (type) {
    case TensorType::f32:
      return launch<F32>(w, rows, cols, row_bytes, x, tokens, y, stream);
    case TensorType::f16:
      return launch<F16>(w, rows, cols, row_bytes, x, tokens, y, stream);
    case TensorType::bf16:
      return launch<BF16>(w, rows, cols, row_bytes, x, tokens, y, stream);
    case TensorType::q8_0:
      return launch<Q8_0>(w, rows, cols, row_bytes, x, tokens, y, stream);
    case TensorType::q4_0:
      return launch<Q4_0>(w, rows, cols, row_bytes, x, tokens, y, stream);
    case TensorType::q4_k:
      return launch<Q4_K>(w, rows, cols, row_bytes, x, tokens, y, stream);
    default:
      return launch<Q6_K>(w, rows, cols, row_bytes, x, tokens, y, stream);
  }
}

}  // namespace rs::gpu
