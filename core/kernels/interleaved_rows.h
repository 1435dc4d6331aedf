#pragma once
// q4_0 and q8_0 rows as matmul reads them, and their activations: the blocks
// of a row in groups of 16, each group's values interleaved 4 bytes at a time
// so that one 64-byte integer dot product leaves block j's partial sum in
// 32-bit lane j. A group's 16 blocks are then scaled by one float multiply-add
// instead of one per block. Rows are rewritten in place once, at load (the same
// bytes, rearranged, as llama.cpp repacks q4_0 for its CPU kernels).
//
// A row of nb blocks: the groups' values, then every block's fp16 d in order.
// A group of m blocks (16, or fewer in a row's last group) stores, for each
// vector k, m × 4 bytes, block j's at [4j, 4j + 4):
//   q4_0: k < 4: bytes 4k..4k+3 of each block's qs, whose low nibbles are
//         values 4k..4k+3 and high nibbles values 16+4k..16+4k+3 (vector k+4);
//   q8_0: k < 8: values 4k..4k+3, each q + 128 (unsigned for vpdpbusd).
#include <cstddef>
#include <cstdint>

#include "core/model/tensor_type.h"

namespace rs::kernels {

constexpr size_t kGroupBlocks = 16;  // blocks of 32 values per group: 16 lanes of a 512-bit vector
constexpr size_t kGroupVectors = 8;  // 64-byte vectors of activations per group

// Whether matmul reads rows of `type` interleaved (q4_0 and q8_0).
bool interleaved_type(model::TensorType type);

// One row of `cols` values (whole blocks) between the file's layout and the
// interleaved one; `from` and `to` do not overlap.
void interleave_row(model::TensorType type, const std::byte* from, size_t cols, std::byte* to);
void deinterleave_row(model::TensorType type, const std::byte* from, size_t cols, std::byte* to);

// A group of 16 blocks of one token's activations, quantized as ggml's q8_0
// (d = amax / 127 rounded to fp16, q = round(x / d)); blocks past a row's end
// are zeros.
struct alignas(64) ActivationGroup {
  int8_t values[kGroupVectors][kGroupBlocks * 4];  // [k][4j + i]: value 4k + i of block j
  float scales[kGroupBlocks];                      // block j's d
  int32_t sums[kGroupBlocks];                      // block j's Σ q
};
static_assert(sizeof(ActivationGroup) == 640);

}  // namespace rs::kernels
