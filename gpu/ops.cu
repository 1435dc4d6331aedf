// The per-row operations: one thread block per row (norm, embedding), one
// thread per pair (RoPE) or value (SwiGLU, add).
#include <cuda_runtime.h>

#include <stdexcept>
#include <string>

#include "gpu/cuda_check.h"
#include "gpu/dequantize.cuh"
#include "gpu/matvec.h"
#include "gpu/ops.h"

namespace rs::gpu {
namespace {

constexpr int kThreads = 256;

unsigned blocks_for(size_t n) { return unsigned((n + kThreads - 1) / kThreads); }

__global__ void rms_norm_kernel(const float* x, const float* weight, float eps, int n, float* out) {
  const float* row = x + size_t(blockIdx.x) * n;
  float* dst = out + size_t(blockIdx.x) * n;
  double sum = 0;  // in double, as the CPU's SumOfSquares
  for (int i = threadIdx.x; i < n; i += blockDim.x) sum += double(row[i]) * row[i];
  __shared__ double partial[kThreads];
  partial[threadIdx.x] = sum;
  __syncthreads();
  for (int stride = blockDim.x / 2; stride > 0; stride /= 2) {
    if (threadIdx.x < stride) partial[threadIdx.x] += partial[threadIdx.x + stride];
    __syncthreads();
  }
  const float scale = float(1.0 / sqrt(partial[0] / n + eps));
  for (int i = threadIdx.x; i < n; i += blockDim.x) dst[i] = row[i] * scale * weight[i];
}

__global__ void rope_kernel(float* x, int heads, int head_dim, const int32_t* positions, const float* inv_freq,
                            bool adjacent_pairs, size_t pairs) {
  const size_t p = size_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (p >= pairs) return;
  const int half = head_dim / 2, i = int(p % half);
  const size_t head = p / half, token = head / heads;
  float* h = x + head * head_dim;
  const float angle = float(positions[token]) * inv_freq[i];
  float s, c;
  sincosf(angle, &s, &c);
  float& a = adjacent_pairs ? h[2 * i] : h[i];
  float& b = adjacent_pairs ? h[2 * i + 1] : h[i + half];
  const float a0 = a, b0 = b;
  a = a0 * c - b0 * s;
  b = a0 * s + b0 * c;
}

__global__ void swiglu_kernel(float* gate, const float* up, size_t n) {
  const size_t i = size_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) gate[i] = gate[i] / (1.0f + expf(fminf(-gate[i], 88.0f))) * up[i];
}

// x[i] += y[i % period]: a residual add (period n) or a bias on every row.
__global__ void add_kernel(float* x, const float* y, size_t n, size_t period) {
  const size_t i = size_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) x[i] += y[i % period];
}

__global__ void gather_rows_kernel(const float* x, const int32_t* rows, int n, float* out) {
  const float* row = x + size_t(rows[blockIdx.x]) * n;
  float* dst = out + size_t(blockIdx.x) * n;
  for (int i = threadIdx.x; i < n; i += blockDim.x) dst[i] = row[i];
}

template <class Reader>
__global__ void embed_kernel(const uint8_t* table, int cols, size_t row_bytes, const int32_t* ids, float* out) {
  const uint8_t* row = table + size_t(ids[blockIdx.x]) * row_bytes;
  float* dst = out + size_t(blockIdx.x) * cols;
  for (int c = threadIdx.x * kChunk; c < cols; c += blockDim.x * kChunk) {
    float v[kChunk];
    Reader::values(row, c, v);
    for (int i = 0; i < kChunk; ++i) dst[c + i] = v[i];
  }
}

}  // namespace

void rms_norm(const float* x, const float* weight, float eps, size_t n, size_t rows, float* out, CUstream_st* stream) {
  if (rows == 0) return;
  rms_norm_kernel<<<unsigned(rows), kThreads, 0, stream>>>(x, weight, eps, int(n), out);
  check_launch("rms_norm");
}

void rope(float* x, size_t tokens, size_t heads, size_t head_dim, const int32_t* positions, const float* inv_freq,
          bool adjacent_pairs, CUstream_st* stream) {
  const size_t pairs = tokens * heads * (head_dim / 2);
  if (pairs == 0) return;
  rope_kernel<<<blocks_for(pairs), kThreads, 0, stream>>>(x, int(heads), int(head_dim), positions, inv_freq,
                                                         adjacent_pairs, pairs);
  check_launch("rope");
}

void swiglu(float* gate, const float* up, size_t n, CUstream_st* stream) {
  if (n == 0) return;
  swiglu_kernel<<<blocks_for(n), kThreads, 0, stream>>>(gate, up, n);
  check_launch("swiglu");
}

void add(float* x, const float* y, size_t n, CUstream_st* stream) {
  if (n == 0) return;
  add_kernel<<<blocks_for(n), kThreads, 0, stream>>>(x, y, n, n);
  check_launch("add");
}

void add_bias(float* x, const float* bias, size_t n, size_t rows, CUstream_st* stream) {
  if (n == 0 || rows == 0) return;
  add_kernel<<<blocks_for(n * rows), kThreads, 0, stream>>>(x, bias, n * rows, n);
  check_launch("add_bias");
}

void gather_rows(const float* x, const int32_t* rows, size_t n, size_t count, float* out, CUstream_st* stream) {
  if (count == 0) return;
  gather_rows_kernel<<<unsigned(count), kThreads, 0, stream>>>(x, rows, int(n), out);
  check_launch("gather_rows");
}

void embed(model::TensorType type, const std::byte* table, size_t cols, size_t row_bytes, const int32_t* ids,
           size_t tokens, float* out, CUstream_st* stream) {
  if (!matvec_reads(type) || cols % kChunk != 0 || cols % model::info(type).block_elements != 0) {
    throw std::invalid_argument("embed: no CUDA kernel reads " + std::to_string(cols) + " columns of " +
                                std::string(model::info(type).name));
  }
  if (tokens == 0) return;
  with_reader(type, [&](auto reader) {
    embed_kernel<decltype(reader)><<<unsigned(tokens), 32, 0, stream>>>(
        reinterpret_cast<const uint8_t*>(table), int(cols), row_bytes, ids, out);
  });
  check_launch("embed");
}

}  // namespace rs::gpu
