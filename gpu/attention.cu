// Paged decode attention. A thread block per (head, token); its warps take
// positions in turn, each keeping a running maximum, sum and weighted value
// sum (lane l holds dims l, l + 32, …), merged across warps at the end.
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cfloat>

#include "gpu/attention.h"
#include "gpu/cuda_check.h"
#include "gpu/kv_pool.cuh"

namespace rs::gpu {
namespace {

constexpr int kWarp = 32;
constexpr int kWarps = 4;
constexpr int kDimsPerLane = kMaxHeadDim / kWarp;

using namespace kv_pool;

// The block table token t reads.
__device__ inline const int32_t* table_of(const int32_t* block_tables, const int32_t* table_of_token, int max_blocks,
                                          int t) {
  return block_tables + size_t(table_of_token != nullptr ? table_of_token[t] : t) * max_blocks;
}

__global__ void store_kv_kernel(Shape s, uint8_t* pool, int layer, const int32_t* positions,
                                const int32_t* block_tables, const int32_t* table_of_token, int max_blocks,
                                const float* k, const float* v) {
  const int t = blockIdx.y, kv_head = blockIdx.x;
  const int position = positions[t];
  const int block = table_of(block_tables, table_of_token, max_blocks, t)[position / s.block_tokens];
  for (int kind = 0; kind < 2; ++kind) {
    uint8_t* row = pool + row_offset(s, block, layer, kind, kv_head, position % s.block_tokens);
    const float* src = (kind == 0 ? k : v) + (size_t(t) * s.n_kv_heads + kv_head) * s.head_dim;
    for (int d = threadIdx.x; d < s.head_dim; d += blockDim.x) {
      if (s.f16) {
        reinterpret_cast<__half*>(row)[d] = __float2half_rn(src[d]);
      } else {
        reinterpret_cast<float*>(row)[d] = src[d];
      }
    }
  }
}

__global__ void attention_decode_kernel(Shape s, const uint8_t* pool, int layer, const int32_t* positions,
                                        const int32_t* block_tables, const int32_t* table_of_token, int max_blocks,
                                        int n_heads, float scale, const float* q, float* out) {
  const int head = blockIdx.x, t = blockIdx.y, warp = threadIdx.y, lane = threadIdx.x;
  const int kv_head = head / (n_heads / s.n_kv_heads);
  const float* qh = q + (size_t(t) * n_heads + head) * s.head_dim;
  const int32_t* table = table_of(block_tables, table_of_token, max_blocks, t);
  float qv[kDimsPerLane], acc[kDimsPerLane];
  for (int i = 0; i < kDimsPerLane; ++i) {
    const int d = lane + i * kWarp;
    qv[i] = d < s.head_dim ? qh[d] : 0.0f;
    acc[i] = 0.0f;
  }
  float max = -FLT_MAX, sum = 0.0f;
  for (int j = warp; j <= positions[t]; j += kWarps) {
    const int block = table[j / s.block_tokens], in_block = j % s.block_tokens;
    const uint8_t* key = pool + row_offset(s, block, layer, 0, kv_head, in_block);
    float dot = 0.0f;
    for (int i = 0; i < kDimsPerLane; ++i) {
      const int d = lane + i * kWarp;
      if (d < s.head_dim) dot += qv[i] * load(s, key, d);
    }
    for (int offset = kWarp / 2; offset > 0; offset /= 2) dot += __shfl_xor_sync(0xffffffffu, dot, offset);
    const float score = dot * scale;
    const float new_max = fmaxf(max, score);
    const float rescale = __expf(max - new_max), weight = __expf(score - new_max);
    const uint8_t* value = pool + row_offset(s, block, layer, 1, kv_head, in_block);
    for (int i = 0; i < kDimsPerLane; ++i) {
      const int d = lane + i * kWarp;
      acc[i] = acc[i] * rescale + (d < s.head_dim ? weight * load(s, value, d) : 0.0f);
    }
    sum = sum * rescale + weight;
    max = new_max;
  }
  // Merge the warps: each rescales to the largest maximum.
  __shared__ float maxes[kWarps], sums[kWarps], accs[kWarps][kMaxHeadDim];
  if (lane == 0) {
    maxes[warp] = max;
    sums[warp] = sum;
  }
  for (int i = 0; i < kDimsPerLane; ++i) accs[warp][lane + i * kWarp] = acc[i];
  __syncthreads();
  if (warp != 0) return;
  float total_max = -FLT_MAX;
  for (int w = 0; w < kWarps; ++w) total_max = fmaxf(total_max, maxes[w]);
  float total = 0.0f;
  float merged[kDimsPerLane] = {};
  for (int w = 0; w < kWarps; ++w) {
    if (sums[w] == 0.0f) continue;  // a warp with no positions
    const float f = __expf(maxes[w] - total_max);
    total += sums[w] * f;
    for (int i = 0; i < kDimsPerLane; ++i) merged[i] += accs[w][lane + i * kWarp] * f;
  }
  float* dst = out + (size_t(t) * n_heads + head) * s.head_dim;
  for (int i = 0; i < kDimsPerLane; ++i) {
    const int d = lane + i * kWarp;
    if (d < s.head_dim) dst[d] = merged[i] / total;
  }
}

}  // namespace

void store_kv(const KvShape& shape, std::byte* pool, uint32_t layer, const AttentionBatch& batch, const float* k,
              const float* v, CUstream_st* stream) {
  const Shape s = device_shape(shape);
  if (batch.tokens == 0) return;
  const dim3 grid(shape.n_kv_heads, unsigned(batch.tokens));
  store_kv_kernel<<<grid, kWarp * kWarps, 0, stream>>>(s, reinterpret_cast<uint8_t*>(pool), int(layer),
                                                       batch.positions, batch.block_tables, batch.table_of_token,
                                                       int(batch.max_blocks), k, v);
  check_launch("store_kv");
}

void attention_decode(const KvShape& shape, const std::byte* pool, uint32_t layer, const AttentionBatch& batch,
                      uint32_t n_heads, float scale, const float* q, float* out, CUstream_st* stream) {
  const Shape s = device_shape(shape);
  check_heads(shape, n_heads);
  if (batch.tokens == 0) return;
  const dim3 grid(n_heads, unsigned(batch.tokens)), block(kWarp, kWarps);
  attention_decode_kernel<<<grid, block, 0, stream>>>(s, reinterpret_cast<const uint8_t*>(pool), int(layer),
                                                      batch.positions, batch.block_tables, batch.table_of_token,
                                                      int(batch.max_blocks), int(n_heads), scale, q, out);
  check_launch("attention_decode");
}

}  // namespace rs::gpu
