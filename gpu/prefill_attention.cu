// Paged prefill attention, flash-attention style on CUDA cores. A thread
// block takes kRows query rows of one run and one KV head, the rows being
// (token, query head of the KV head's group) pairs so that the group's heads
// share every K/V tile; it walks the sequence's positions kKeys at a time up
// to the causal limit of its last row: K and V tiles in shared memory, one
// key per lane for the scores, an online softmax per row (running maximum and
// sum), the output accumulated in registers (lane l holds dims l, l + 32, …).
#include <cuda_runtime.h>

#include <cfloat>
#include <climits>
#include <stdexcept>
#include <string>

#include "gpu/cuda_check.h"
#include "gpu/kv_pool.cuh"
#include "gpu/prefill_attention.h"

namespace rs::gpu {
namespace {

using kv_pool::Shape;

constexpr int kWarp = 32;
constexpr int kWarps = 4;
constexpr int kRowsPerWarp = 8;
constexpr int kRows = kWarps * kRowsPerWarp;  // query rows of a thread block
constexpr int kKeys = kWarp;                  // positions of a K/V tile: one per lane
constexpr unsigned kMaxGridYZ = 65535;

// Shared memory for head dims padded to kDim: the Q tile, K tile and V tile.
// K rows are kDim + 4 floats apart so that the lanes' float4 reads of their
// keys fall in different banks.
template <int kDim>
constexpr int kKeyStride = kDim + 4;
template <int kDim>
constexpr size_t kSharedBytes = sizeof(float) * (kRows * kDim + kKeys * kKeyStride<kDim> + kKeys * kDim);

struct Runs {  // PrefillBatch for the kernel
  const int32_t* first_token;
  const int32_t* tokens;
  const int32_t* first_position;
  const int32_t* block_tables;
  int max_blocks;
};

__device__ float warp_max(float x) {
  for (int offset = kWarp / 2; offset > 0; offset /= 2) x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, offset));
  return x;
}

__device__ float warp_sum(float x) {
  for (int offset = kWarp / 2; offset > 0; offset /= 2) x += __shfl_xor_sync(0xffffffffu, x, offset);
  return x;
}

// Grid: (row tiles of the longest run, KV heads, runs). Warp w owns rows
// w · kRowsPerWarp .. + kRowsPerWarp - 1 of the tile.
template <int kDim>
__global__ void __launch_bounds__(kWarp * kWarps)
    attention_prefill_kernel(Shape s, const uint8_t* pool, int layer, Runs runs, int n_heads, float scale,
                             const float* q, float* out) {
  constexpr int kDimsPerLane = kDim / kWarp;
  const int run = blockIdx.z, kv_head = blockIdx.y, warp = threadIdx.y, lane = threadIdx.x;
  const int group = n_heads / s.n_kv_heads;
  const int run_rows = runs.tokens[run] * group;
  const int first_row = blockIdx.x * kRows;
  if (first_row >= run_rows) return;  // the whole block: this tile is past the run
  const int first_token = runs.first_token[run], first_position = runs.first_position[run];
  const int32_t* table = runs.block_tables + size_t(run) * runs.max_blocks;

  extern __shared__ float4 shared[];
  float* q_tile = reinterpret_cast<float*>(shared);
  float* k_tile = q_tile + kRows * kDim;
  float* v_tile = k_tile + kKeys * kKeyStride<kDim>;

  // The warp's query rows, scaled, zero past head_dim. Rows past the run
  // repeat its last row: they compute but are never written.
  int position[kRowsPerWarp];
  float* q_rows = q_tile + warp * kRowsPerWarp * kDim;
#pragma unroll
  for (int i = 0; i < kRowsPerWarp; ++i) {
    const int row = min(first_row + warp * kRowsPerWarp + i, run_rows - 1);
    const int t = row / group, head = kv_head * group + row % group;
    position[i] = first_position + t;
    const float* qh = q + (size_t(first_token + t) * n_heads + head) * s.head_dim;
    for (int d = lane; d < kDim; d += kWarp) q_rows[i * kDim + d] = d < s.head_dim ? qh[d] * scale : 0.0f;
  }
  // Positions 0 .. end - 1 are visible to some row of the tile.
  const int end = first_position + (min(first_row + kRows, run_rows) - 1) / group + 1;

  float acc[kRowsPerWarp][kDimsPerLane] = {};
  float row_max[kRowsPerWarp], row_sum[kRowsPerWarp];
#pragma unroll
  for (int i = 0; i < kRowsPerWarp; ++i) {
    row_max[i] = -FLT_MAX;  // finite, so that no rescale is ever exp(-inf + inf)
    row_sum[i] = 0.0f;
  }
  for (int start = 0; start < end; start += kKeys) {
    __syncthreads();  // every warp is done with the previous tile (and has its Q rows)
    for (int j = warp; j < kKeys; j += kWarps) {
      const int p = start + j;
      float* k_row = k_tile + j * kKeyStride<kDim>;
      float* v_row = v_tile + j * kDim;
      if (p < end) {
        const int block = table[p / s.block_tokens], in_block = p % s.block_tokens;
        const uint8_t* key = pool + kv_pool::row_offset(s, block, layer, 0, kv_head, in_block);
        const uint8_t* value = pool + kv_pool::row_offset(s, block, layer, 1, kv_head, in_block);
        for (int d = lane; d < kDim; d += kWarp) {
          k_row[d] = d < s.head_dim ? kv_pool::load(s, key, d) : 0.0f;
          v_row[d] = d < s.head_dim ? kv_pool::load(s, value, d) : 0.0f;
        }
      } else {  // past the causal limit: the table may hold nothing there
        for (int d = lane; d < kDim; d += kWarp) k_row[d] = v_row[d] = 0.0f;
      }
    }
    __syncthreads();

    // Lane l scores position start + l against each of the warp's rows.
    float score[kRowsPerWarp] = {};
    const float* k_row = k_tile + lane * kKeyStride<kDim>;
#pragma unroll 4
    for (int d = 0; d < kDim; d += 4) {
      const float4 k4 = *reinterpret_cast<const float4*>(k_row + d);
#pragma unroll
      for (int i = 0; i < kRowsPerWarp; ++i) {
        const float4 q4 = *reinterpret_cast<const float4*>(q_rows + i * kDim + d);  // the same for every lane
        score[i] = fmaf(q4.x, k4.x, fmaf(q4.y, k4.y, fmaf(q4.z, k4.z, fmaf(q4.w, k4.w, score[i]))));
      }
    }
    float weight[kRowsPerWarp];
#pragma unroll
    for (int i = 0; i < kRowsPerWarp; ++i) {
      const bool visible = start + lane <= position[i];
      const float new_max = fmaxf(row_max[i], warp_max(visible ? score[i] : -FLT_MAX));
      const float rescale = expf(row_max[i] - new_max);
      weight[i] = visible ? expf(score[i] - new_max) : 0.0f;
      row_sum[i] = row_sum[i] * rescale + warp_sum(weight[i]);
      row_max[i] = new_max;
#pragma unroll
      for (int k = 0; k < kDimsPerLane; ++k) acc[i][k] *= rescale;
    }
    // acc += weights · V, each position's weights passed from its lane.
    const int keys = min(kKeys, end - start);
    for (int j = 0; j < keys; ++j) {
      float w[kRowsPerWarp];
#pragma unroll
      for (int i = 0; i < kRowsPerWarp; ++i) w[i] = __shfl_sync(0xffffffffu, weight[i], j);
#pragma unroll
      for (int k = 0; k < kDimsPerLane; ++k) {
        const float v = v_tile[j * kDim + lane + k * kWarp];
#pragma unroll
        for (int i = 0; i < kRowsPerWarp; ++i) acc[i][k] = fmaf(w[i], v, acc[i][k]);
      }
    }
  }

#pragma unroll
  for (int i = 0; i < kRowsPerWarp; ++i) {
    const int row = first_row + warp * kRowsPerWarp + i;
    if (row >= run_rows) continue;
    const int t = row / group, head = kv_head * group + row % group;
    float* dst = out + (size_t(first_token + t) * n_heads + head) * s.head_dim;
#pragma unroll
    for (int k = 0; k < kDimsPerLane; ++k) {
      const int d = lane + k * kWarp;
      if (d < s.head_dim) dst[d] = acc[i][k] / row_sum[i];
    }
  }
}

template <int kDim>
void launch(const Shape& s, const std::byte* pool, uint32_t layer, const Runs& runs, dim3 grid, uint32_t n_heads,
            float scale, const float* q, float* out, CUstream_st* stream) {
  // Over the default 48 KiB from head_dim 128 up: opted in per kernel.
  check(cudaFuncSetAttribute(attention_prefill_kernel<kDim>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                             int(kSharedBytes<kDim>)),
        "attention_prefill shared memory (" + std::to_string(kSharedBytes<kDim>) + " bytes)");
  attention_prefill_kernel<kDim><<<grid, dim3(kWarp, kWarps), kSharedBytes<kDim>, stream>>>(
      s, reinterpret_cast<const uint8_t*>(pool), int(layer), runs, int(n_heads), scale, q, out);
  check_launch("attention_prefill");
}

}  // namespace

void attention_prefill(const KvShape& shape, const std::byte* pool, uint32_t layer, const PrefillBatch& batch,
                       uint32_t n_heads, float scale, const float* q, float* out, CUstream_st* stream) {
  const Shape s = kv_pool::device_shape(shape);
  kv_pool::check_heads(shape, n_heads);
  const size_t rows = size_t(batch.max_tokens) * (n_heads / shape.n_kv_heads);
  if (batch.sequences > kMaxGridYZ || shape.n_kv_heads > kMaxGridYZ || rows > size_t(INT_MAX) - kRows) {
    throw std::invalid_argument("CUDA prefill attention: " + std::to_string(batch.sequences) + " runs (at most " +
                                std::to_string(kMaxGridYZ) + ") of up to " + std::to_string(batch.max_tokens) +
                                " tokens, " + std::to_string(n_heads) + " heads over " +
                                std::to_string(shape.n_kv_heads) + " KV heads");
  }
  if (batch.sequences == 0 || rows == 0) return;
  const Runs runs{batch.first_token, batch.tokens, batch.first_position, batch.block_tables, int(batch.max_blocks)};
  const dim3 grid(unsigned((rows + kRows - 1) / kRows), shape.n_kv_heads, batch.sequences);
  if (shape.head_dim <= 64) {
    launch<64>(s, pool, layer, runs, grid, n_heads, scale, q, out, stream);
  } else if (shape.head_dim <= 128) {
    launch<128>(s, pool, layer, runs, grid, n_heads, scale, q, out, stream);
  } else {
    launch<kMaxHeadDim>(s, pool, layer, runs, grid, n_heads, scale, q, out, stream);
  }
}

}  // namespace rs::gpu
