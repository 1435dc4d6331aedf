// The integer dot product of quantized rows (see matmul_kernels.h) with int8
// activations, for each family's matmul source to instantiate with its
// readers. Bytes are multiplied and summed in 32-bit lanes of 4 values
// (VNNI's vpdpbusd, else vpmaddubsw and vpmaddwd), then scaled per sub-block
// in float, in register blocks of rows × tokens:
//   - few tokens (a single block of them): each 32-value chunk of a row is
//     unpacked in registers straight from the matrix (Reader::Values) and meets
//     every token there, so the weights stream through once (AVX2 and up);
//   - more tokens: a tile of rows is unpacked once into bytes (Reader::Unpack)
//     and the blocks of tokens take it from L1, in the same chunks and order,
//     so that a token's result does not depend on its batch.
// Included once per target after hwy/highway.h (Highway's -inl.h convention).
#if defined(RS_KERNELS_DOT_INT8_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef RS_KERNELS_DOT_INT8_INL_H_
#undef RS_KERNELS_DOT_INT8_INL_H_
#else
#define RS_KERNELS_DOT_INT8_INL_H_
#endif

#include <algorithm>
#include <array>
#include <cstring>
#include <utility>

#include "core/kernels/dot4-inl.h"
#include "core/kernels/matmul_kernels.h"
#include "core/kernels/simd-inl.h"
#include "hwy/cache_control.h"
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace rs::kernels {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

#if HWY_TARGET == HWY_SCALAR || HWY_TARGET == HWY_EMU128  // portable loops where there are no x86 intrinsics

constexpr size_t kBlockTokens = 0;  // no rows in registers

// The tile's rows × tokens [t_begin, t_end): the definition in
// matmul_kernels.h, one value at a time.
template <class Reader, bool kInTile>
void TileRows(const Matrix&, size_t, const UnpackedRows& w, const Activations& x, size_t t_begin, size_t t_end,
              float* y, size_t y_stride) {
  const size_t subs = w.padded_cols / w.sub_block;
  for (size_t r = 0; r < w.rows; ++r) {
    for (size_t t = t_begin; t < t_end; ++t) {
      const uint8_t* u = w.row_values(r);
      const int8_t* a = x.q8_row(t);
      float sum = 0.0f;
      for (size_t j = 0; j < subs; ++j) {
        int32_t dot = 0;
        for (size_t i = j * w.sub_block; i < (j + 1) * w.sub_block; ++i) dot += u[i] * a[i];
        sum += w.row_scales(r)[j] * x.q8_scales(t)[j] * float(dot) + w.row_biases(r)[j] * x.q8_sums(t)[j];
      }
      y[t * y_stride + r] = sum;
    }
  }
}

#else

// Σ_j bias[j] · sums[j] into acc: zeros past the last sub-block fill whole vectors.
template <size_t R, size_t T, class DF>
HWY_INLINE void AddBiases(DF df, const float* const (&biases)[R], const float* const (&sums)[T], size_t n,
                          hn::Vec<DF> (&acc)[R][T]) {
  for (size_t j = 0; j < n; j += hn::Lanes(df)) {
    for (size_t t = 0; t < T; ++t) {
      const auto s = hn::Load(df, sums[t] + j);
      for (size_t r = 0; r < R; ++r) acc[r][t] = hn::MulAdd(hn::Load(df, biases[r] + j), s, acc[r][t]);
    }
  }
}

// y[t][r] = the sum of acc[r][t]'s lanes.
template <size_t R, size_t T, class DF>
HWY_INLINE void Store(DF df, hn::Vec<DF> (&acc)[R][T], float* y, size_t y_stride) {
  for (size_t t = 0; t < T; ++t) {
    for (size_t r = 0; r < R; ++r) y[t * y_stride + r] = hn::GetLane(hn::SumOfLanes(df, acc[r][t]));
  }
}

#if HWY_CAP_GE256

// ---- AVX2 and up: 32 values (a 256-bit chunk) at a time, from the matrix or
// from the tile, in the same order: a token's result never depends on how
// many others share its batch.

constexpr size_t kBlockRows = HWY_CAP_GE512 ? 4 : 2;
constexpr size_t kBlockTokens = HWY_CAP_GE512 ? 4 : 2;
using ChunkTag = hn::CappedTag<uint8_t, 32>;  // half of a k-quant's 64 values

// A chunk's scales from sub-block scales at p: one for all 8 lanes, or (sub-
// blocks of 16) one for lanes 0-3 and one for 4-7.
template <size_t kSub, class DF>
HWY_INLINE hn::Vec<DF> ChunkScales(DF df, const float* p) {
  if constexpr (kSub == 32) {
    return hn::Set(df, p[0]);
  } else {
    return hn::ConcatUpperLower(df, hn::Set(df, p[1]), hn::Set(df, p[0]));
  }
}

// Rows [s0, s0 + R) of the tile (matrix rows from r0) × tokens [t0, t0 + T),
// kStep chunks of a row at a time: unpacked in registers by Reader::Values, or
// (kInTile) loaded from the tile. In registers, with a single token, its scales
// are already in the rows' (see MatmulRows): the same products either way.
template <class Reader, bool kInTile, size_t R, size_t T>
void ChunkBlock(const Matrix& w, size_t r0, const UnpackedRows& tile, size_t s0, const Activations& x, size_t t0,
                float* y, size_t y_stride) {
  constexpr size_t kSub = Reader::kSubBlock, kChunk = 32, kStep = Reader::kStep;
  constexpr bool kScaled = !kInTile && T == 1;
  const ChunkTag du8;
  const hn::Repartition<int8_t, ChunkTag> di8;
  const hn::Repartition<float, ChunkTag> df;
  const std::byte* rows[R];
  for (size_t r = 0; r < R; ++r) rows[r] = w.row(r0 + s0 + r);

  hn::Vec<decltype(df)> acc[R][T];
  for (auto& row : acc) std::fill(std::begin(row), std::end(row), hn::Zero(df));
  // In registers, each step also prefetches its bytes two blocks of rows ahead
  // (the matrix is row-major): time enough to cover memory's latency. The
  // prefetches are never more than a line apart (a few share one: no branches).
  constexpr size_t kStepBytes = sizeof(typename Reader::Block) * kStep * kChunk / Reader::kBlockValues;
  const size_t ahead = 2 * kBlockRows * w.row_bytes;
  for (size_t step = 0; step < w.cols / (kStep * kChunk); ++step) {
    hn::Vec<decltype(du8)> u[R][kStep];
    for (size_t r = 0; r < R; ++r) {
      if constexpr (kInTile) {
        for (size_t k = 0; k < kStep; ++k) {
          u[r][k] = hn::Load(du8, tile.row_values(s0 + r) + (step * kStep + k) * kChunk);
        }
      } else {
        for (size_t b = 0; b < kStepBytes; b += 64) hwy::Prefetch(rows[r] + ahead + step * kStepBytes + b);
        Reader::Values(rows[r], step, u[r]);
      }
    }
    for (size_t k = 0; k < kStep; ++k) {
      const size_t c = step * kStep + k;
      hn::Vec<decltype(df)> scale[R];
      for (size_t r = 0; r < R; ++r) scale[r] = ChunkScales<kSub>(df, tile.row_scales(s0 + r) + c * kChunk / kSub);
      for (size_t t = 0; t < T; ++t) {
        const auto a = hn::Load(di8, x.q8_row(t0 + t) + c * kChunk);
        const auto a_scale = ChunkScales<kSub>(df, x.q8_scales(t0 + t) + c * kChunk / kSub);
        for (size_t r = 0; r < R; ++r) {
          const auto dot = hn::ConvertTo(df, Dot4<Reader::kSmallValues>(u[r][k], a));
          acc[r][t] = hn::MulAdd(dot, kScaled ? scale[r] : hn::Mul(scale[r], a_scale), acc[r][t]);
        }
      }
    }
  }
  const float* biases[R];
  const float* sums[T];
  for (size_t r = 0; r < R; ++r) biases[r] = tile.row_biases(s0 + r);
  for (size_t t = 0; t < T; ++t) sums[t] = x.q8_sums(t0 + t);
  AddBiases(df, biases, sums, tile.padded_cols / kSub, acc);
  Store(df, acc, y + t0 * y_stride + s0, y_stride);
}

// The tile's rows (matrix rows from r0) × tokens [t_begin, t_end).
template <class Reader, bool kInTile>
void TileRows(const Matrix& w, size_t r0, const UnpackedRows& tile, const Activations& x, size_t t_begin, size_t t_end,
              float* y, size_t y_stride) {
  using Fn = void (*)(const Matrix&, size_t, const UnpackedRows&, size_t, const Activations&, size_t, float*, size_t);
  static constexpr auto blocks = TableOfBlocks<Fn, kBlockTokens>(
      std::make_index_sequence<kBlockRows>(), []<size_t R, size_t T>() { return &ChunkBlock<Reader, kInTile, R, T>; });
  for (size_t s0 = 0; s0 < tile.rows; s0 += kBlockRows) {
    const size_t rows = std::min(kBlockRows, tile.rows - s0);
    for (size_t t0 = t_begin; t0 < t_end; t0 += kBlockTokens) {
      blocks[rows - 1][std::min(kBlockTokens, t_end - t0) - 1](w, r0, tile, s0, x, t0, y, y_stride);
    }
  }
}

#else

// ---- SSE4: a vector (16 values, within one sub-block) at a time, from the tile.

constexpr size_t kBlockRows = 2, kBlockTokens = 0;  // no rows in registers

// Tile rows [r0, r0 + R) × tokens [t0, t0 + T).
template <size_t kSub, bool kSmallU, size_t R, size_t T>
void VectorBlock(const UnpackedRows& w, size_t r0, const Activations& x, size_t t0, float* y, size_t y_stride) {
  const hn::ScalableTag<int32_t> di;
  const hn::Repartition<float, decltype(di)> df;
  const hn::Repartition<uint8_t, decltype(di)> du8;
  const hn::Repartition<int8_t, decltype(di)> di8;
  static_assert(HWY_MAX_BYTES <= kSub, "a vector within a sub-block");

  hn::Vec<decltype(df)> acc[R][T];
  for (auto& row : acc) std::fill(std::begin(row), std::end(row), hn::Zero(df));
  for (size_t i = 0; i < w.padded_cols; i += hn::Lanes(du8)) {
    hn::Vec<decltype(du8)> u[R];
    hn::Vec<decltype(df)> scale[R];
    for (size_t r = 0; r < R; ++r) {
      u[r] = hn::Load(du8, w.row_values(r0 + r) + i);
      scale[r] = hn::Set(df, w.row_scales(r0 + r)[i / kSub]);
    }
    for (size_t t = 0; t < T; ++t) {
      const auto a = hn::Load(di8, x.q8_row(t0 + t) + i);
      const auto a_scale = hn::Set(df, x.q8_scales(t0 + t)[i / kSub]);
      for (size_t r = 0; r < R; ++r) {
        const auto dot = hn::ConvertTo(df, Dot4<kSmallU>(u[r], a));
        acc[r][t] = hn::MulAdd(dot, hn::Mul(scale[r], a_scale), acc[r][t]);
      }
    }
  }
  const float* biases[R];
  const float* sums[T];
  for (size_t r = 0; r < R; ++r) biases[r] = w.row_biases(r0 + r);
  for (size_t t = 0; t < T; ++t) sums[t] = x.q8_sums(t0 + t);
  AddBiases(df, biases, sums, w.padded_cols / kSub, acc);
  Store(df, acc, y + t0 * y_stride + r0, y_stride);
}

// The tile's rows × tokens [t_begin, t_end).
template <class Reader, bool kInTile>
void TileRows(const Matrix&, size_t, const UnpackedRows& tile, const Activations& x, size_t t_begin, size_t t_end,
              float* y, size_t y_stride) {
  constexpr size_t kTokens = 2;
  using Fn = void (*)(const UnpackedRows&, size_t, const Activations&, size_t, float*, size_t);
  static constexpr auto blocks = TableOfBlocks<Fn, kTokens>(
      std::make_index_sequence<kBlockRows>(),
      []<size_t R, size_t T>() { return &VectorBlock<Reader::kSubBlock, Reader::kSmallValues, R, T>; });
  for (size_t r0 = 0; r0 < tile.rows; r0 += kBlockRows) {
    const size_t rows = std::min(kBlockRows, tile.rows - r0);
    for (size_t t0 = t_begin; t0 < t_end; t0 += kTokens) {
      blocks[rows - 1][std::min(kTokens, t_end - t0) - 1](tile, r0, x, t0, y, y_stride);
    }
  }
}

#endif  // HWY_CAP_GE256
#endif  // HWY_TARGET == HWY_SCALAR || HWY_TARGET == HWY_EMU128

// ---- The matmul of a family's types, one tile of rows at a time.

// a[i] *= b[i] for i < n, in whole vectors (both padded).
inline void MulRow(float* a, const float* b, size_t n) {
  const hn::ScalableTag<float> df;
  for (size_t i = 0; i < n; i += hn::Lanes(df)) hn::Store(hn::Mul(hn::Load(df, a + i), hn::Load(df, b + i)), df, a + i);
}

// Bytes of activations a block of tokens keeps in L2 while every tile meets them.
constexpr size_t kL2Budget = 512 << 10;

// y[t * y_stride + r] for rows [begin, end) of `w`, read by `Reader`: its
// sub-block scales and biases (Reader::Scales), its values either in registers
// (Reader::Values: a single block of tokens, AVX2 and up) or unpacked once into
// `tile` for each block of tokens that stays in L2 (Reader::Unpack). A single
// token's scales are multiplied into the rows' once, not at every chunk.
template <class Reader>
void MatmulRows(const Matrix& w, const Activations& x, float* y, size_t y_stride, size_t begin, size_t end,
                UnpackedRows& tile) {
  const bool in_registers = x.tokens() <= kBlockTokens;
  const size_t subs = w.cols / Reader::kSubBlock;
  const size_t block = in_registers ? x.tokens() : std::max<size_t>(1, kL2Budget / x.padded_cols());
  for (size_t t = 0; t < x.tokens(); t += block) {
    const size_t t_end = std::min(x.tokens(), t + block);
    for (size_t r = begin; r < end; r += kTileRows) {
      tile.rows = std::min(kTileRows, end - r);
      for (size_t i = 0; i < tile.rows; ++i) {
        Reader::Scales(w.row(r + i), w.cols, tile.row_scales(i), tile.row_biases(i));
        std::fill(tile.row_scales(i) + subs, tile.row_scales(i) + tile.stride(), 0.0f);
        std::fill(tile.row_biases(i) + subs, tile.row_biases(i) + tile.stride(), 0.0f);
        if (in_registers && x.tokens() == 1) MulRow(tile.row_scales(i), x.q8_scales(0), subs);
        if (!in_registers) {
          Reader::Unpack(w.row(r + i), w.cols, tile.row_values(i));
          std::memset(tile.row_values(i) + w.cols, 0, tile.padded_cols - w.cols);
        }
      }
#if HWY_CAP_GE256
      if (in_registers) {
        TileRows<Reader, false>(w, r, tile, x, t, t_end, y + r, y_stride);
        continue;
      }
#endif
      TileRows<Reader, true>(w, r, tile, x, t, t_end, y + r, y_stride);
    }
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace rs::kernels
HWY_AFTER_NAMESPACE();

#endif  // RS_KERNELS_DOT_INT8_INL_H_
