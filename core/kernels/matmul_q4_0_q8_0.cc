// q4_0 and q8_0 weights, interleaved (interleaved_rows.h), times their q8_0
// activations. Per group of 16 blocks, 8 integer dot products of 64 bytes
// leave block j's Σ u·a in 32-bit lane j, and the weights' offset (8, or 128
// for q8_0's q + 128) times the block's Σa comes off in integers: the group is
// exact until one convert and one multiply-add by d_w · d_a scale all 16
// blocks. Every (row, token) takes the same operations in the same order,
// whatever the blocking: a token's result does not depend on its batch.
#include <algorithm>
#include <cstring>

#include "core/kernels/matmul_kernels.h"
#include "core/model/half.h"
#include "core/model/quantize.h"

// clang-format off
#include "core/kernels/simd.h"
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "core/kernels/matmul_q4_0_q8_0.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "core/kernels/simd-inl.h"
#include "core/kernels/dot4-inl.h"
#include "hwy/cache_control.h"
// clang-format on

HWY_BEFORE_NAMESPACE();
namespace rs::kernels {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// q4_0: each 64-byte vector of a group's values holds activation vector p in
// its low nibbles and p + 4 in its high ones.
struct Q4_0 {
  static constexpr size_t kValueBytes = 16;  // per block
  static constexpr int kOffsetShift = 3;     // the offset: 8
  static constexpr size_t kPairs = 4;        // pairs of activation vectors per group
  static constexpr size_t First(size_t p) { return p; }
  static constexpr size_t Second(size_t p) { return p + 4; }
  // Block j's value v in a group of m blocks (the portable path).
  static unsigned Value(const uint8_t* values, size_t m, size_t j, size_t v) {
    const uint8_t byte = values[v % 16 / 4 * 4 * m + 4 * j + v % 4];
    return v < 16 ? byte & 0x0F : byte >> 4;
  }
#if HWY_TARGET != HWY_SCALAR && HWY_TARGET != HWY_EMU128
  static constexpr bool kSmallU = true;  // below 128
  template <class D8>
  static HWY_INLINE void Pair(D8 d8, const uint8_t* values, size_t p, size_t part, hn::Vec<D8>& first,
                              hn::Vec<D8>& second) {
    const hn::Repartition<uint16_t, D8> d16;
    const auto raw = hn::LoadU(d8, values + 64 * p + part * hn::Lanes(d8));
    first = hn::And(raw, hn::Set(d8, 0x0F));
    second = hn::And(hn::BitCast(d8, hn::ShiftRight<4>(hn::BitCast(d16, raw))), hn::Set(d8, 0x0F));
  }
#endif
};

// q8_0: the group's values are activation vectors 0..7 in order, as q + 128.
struct Q8_0 {
  static constexpr size_t kValueBytes = 32;
  static constexpr int kOffsetShift = 7;  // 128
  static constexpr size_t kPairs = 4;
  static constexpr size_t First(size_t p) { return 2 * p; }
  static constexpr size_t Second(size_t p) { return 2 * p + 1; }
  static unsigned Value(const uint8_t* values, size_t m, size_t j, size_t v) {
    return values[v / 4 * 4 * m + 4 * j + v % 4];
  }
#if HWY_TARGET != HWY_SCALAR && HWY_TARGET != HWY_EMU128
  static constexpr bool kSmallU = false;
  template <class D8>
  static HWY_INLINE void Pair(D8 d8, const uint8_t* values, size_t p, size_t part, hn::Vec<D8>& first,
                              hn::Vec<D8>& second) {
    first = hn::LoadU(d8, values + 128 * p + part * hn::Lanes(d8));
    second = hn::LoadU(d8, values + 128 * p + 64 + part * hn::Lanes(d8));
  }
#endif
};

// Where a row's groups are: every group's values, then every block's fp16 d.
template <class Type>
struct RowGroups {
  size_t blocks;

  size_t full() const { return blocks / kGroupBlocks; }
  size_t count() const { return (blocks + kGroupBlocks - 1) / kGroupBlocks; }
  size_t size(size_t g) const { return std::min(kGroupBlocks, blocks - g * kGroupBlocks); }
  const uint8_t* values(const std::byte* row, size_t g) const {
    return reinterpret_cast<const uint8_t*>(row) + g * kGroupBlocks * Type::kValueBytes;
  }
  const uint16_t* scales(const std::byte* row, size_t g) const {
    return reinterpret_cast<const uint16_t*>(row + blocks * Type::kValueBytes) + g * kGroupBlocks;
  }
};

// Bytes of activations a block of tokens keeps in L2 while rows meet them.
constexpr size_t kL2Budget = 512 << 10;

#if HWY_TARGET == HWY_SCALAR || HWY_TARGET == HWY_EMU128  // portable loops where there are no x86 intrinsics

constexpr size_t kBlockRows = 1, kBlockTokens = 1;

// Row r0 × token t0: the same sums, one value at a time.
template <class Type, size_t R, size_t T>
void GroupBlock(const std::byte* row, size_t, RowGroups<Type> groups, const Activations& x, size_t t0, float* y,
                size_t) {
  float sum = 0.0f;
  for (size_t g = 0; g < groups.count(); ++g) {
    const ActivationGroup& a = *x.group(t0, g);
    const size_t m = groups.size(g);
    for (size_t j = 0; j < m; ++j) {
      int32_t dot = -(a.sums[j] << Type::kOffsetShift);
      for (size_t v = 0; v < model::kQK8_0; ++v) {
        dot += int32_t(Type::Value(groups.values(row, g), m, j, v)) * a.values[v / 4][4 * j + v % 4];
      }
      sum += float(dot) * (model::fp16_to_fp32(groups.scales(row, g)[j]) * a.scales[j]);
    }
  }
  *y = sum;
}

#else

// Rows (up to 4 in 512-bit registers, fewer in narrower ones) × tokens per
// block. A single token takes one row at a time: one stream through memory,
// which the hardware prefetcher follows best (+25% over 4 rows at once).
constexpr size_t kBlockRows = HWY_MAX_BYTES == 64 ? 4 : HWY_MAX_BYTES == 32 ? 2 : 1;
constexpr size_t kBlockTokens = HWY_MAX_BYTES == 64 ? 3 : 1;

// The row's last group, if partial, as a whole one padded with zeros.
template <class Type>
struct WholeGroup {
  alignas(64) uint8_t values[kGroupBlocks * Type::kValueBytes];
  uint16_t scales[kGroupBlocks];

  void expand(const std::byte* row, RowGroups<Type> groups) {
    const size_t g = groups.full(), m = groups.size(g);
    std::memset(values, 0, sizeof values);
    std::memset(scales, 0, sizeof scales);
    for (size_t k = 0; k < Type::kValueBytes / 4; ++k) {
      std::memcpy(values + 4 * kGroupBlocks * k, groups.values(row, g) + 4 * m * k, 4 * m);
    }
    std::memcpy(scales, groups.scales(row, g), m * sizeof(uint16_t));
  }
};

// R rows from `row` (row_bytes apart) × T tokens from t0, into y[t * y_stride + r].
template <class Type, size_t R, size_t T>
void GroupBlock(const std::byte* row, size_t row_bytes, RowGroups<Type> groups, const Activations& x, size_t t0,
                float* y, size_t y_stride) {
  const hn::ScalableTag<uint8_t> d8;
  const hn::Repartition<int8_t, decltype(d8)> di8;
  const hn::Repartition<int32_t, decltype(d8)> di32;
  const hn::Repartition<float, decltype(d8)> df;
  const hn::Rebind<hwy::float16_t, decltype(df)> dh;
  constexpr size_t kParts = 64 / HWY_MAX_BYTES;  // vectors per 16 lanes

  constexpr size_t kAhead = 2 * R;  // rows: prefetched two blocks ahead, in time to hide memory's latency
  WholeGroup<Type> last[R];
  if (groups.full() < groups.count()) {
    for (size_t r = 0; r < R; ++r) last[r].expand(row + r * row_bytes, groups);
  }
  hn::Vec<decltype(df)> acc[R][T][kParts];
  for (auto& row_acc : acc) {
    for (auto& token_acc : row_acc) std::fill(std::begin(token_acc), std::end(token_acc), hn::Zero(df));
  }
  for (size_t g = 0; g < groups.count(); ++g) {
    const bool whole = g < groups.full();
    const uint8_t* values[R];
    const uint16_t* scales[R];
    for (size_t r = 0; r < R; ++r) {
      values[r] = whole ? groups.values(row + r * row_bytes, g) : last[r].values;
      scales[r] = whole ? groups.scales(row + r * row_bytes, g) : last[r].scales;
    }
    const ActivationGroup* a[T];
    for (size_t t = 0; t < T; ++t) a[t] = x.group(t0 + t, g);
    if (whole) {
      for (size_t r = 0; r < R; ++r) {
        const std::byte* ahead = row + (r + kAhead) * row_bytes;
        for (size_t b = 0; b < kGroupBlocks * Type::kValueBytes; b += 64) hwy::Prefetch(groups.values(ahead, g) + b);
        hwy::Prefetch(groups.scales(ahead, g));
      }
    }
    for (size_t part = 0; part < kParts; ++part) {
      // Two chains of dot products where registers allow: the latency of one
      // would bound a single row's speed. Integer sums: the same either way.
      constexpr size_t kChains = R * T < 4 ? 2 : 1;
      hn::Vec<decltype(di32)> dot[R][T][kChains];
      for (size_t t = 0; t < T; ++t) {
        const auto sums = hn::Load(di32, a[t]->sums + part * hn::Lanes(di32));
        const auto offset = hn::Neg(hn::ShiftLeft<Type::kOffsetShift>(sums));
        for (size_t r = 0; r < R; ++r) {
          dot[r][t][0] = offset;
          if constexpr (kChains == 2) dot[r][t][1] = hn::Zero(di32);
        }
      }
      for (size_t p = 0; p < Type::kPairs; ++p) {
        hn::Vec<decltype(d8)> first[R], second[R];
        for (size_t r = 0; r < R; ++r) Type::Pair(d8, values[r], p, part, first[r], second[r]);
        for (size_t t = 0; t < T; ++t) {
          const auto a_first = hn::Load(di8, a[t]->values[Type::First(p)] + part * hn::Lanes(di8));
          const auto a_second = hn::Load(di8, a[t]->values[Type::Second(p)] + part * hn::Lanes(di8));
          for (size_t r = 0; r < R; ++r) {
            dot[r][t][0] = Dot4Add<Type::kSmallU>(first[r], a_first, dot[r][t][0]);
            dot[r][t][kChains - 1] = Dot4Add<Type::kSmallU>(second[r], a_second, dot[r][t][kChains - 1]);
          }
        }
      }
      if constexpr (kChains == 2) {
        for (size_t r = 0; r < R; ++r) {
          for (size_t t = 0; t < T; ++t) dot[r][t][0] = hn::Add(dot[r][t][0], dot[r][t][1]);
        }
      }
      for (size_t r = 0; r < R; ++r) {
        const auto w_scale =
            hn::PromoteTo(df, hn::LoadU(dh, reinterpret_cast<const hwy::float16_t*>(scales[r]) + part * hn::Lanes(df)));
        for (size_t t = 0; t < T; ++t) {
          const auto scale = hn::Mul(w_scale, hn::Load(df, a[t]->scales + part * hn::Lanes(df)));
          acc[r][t][part] = hn::MulAdd(hn::ConvertTo(df, dot[r][t][0]), scale, acc[r][t][part]);
        }
      }
    }
  }
  for (size_t r = 0; r < R; ++r) {
    for (size_t t = 0; t < T; ++t) {
      auto sum = acc[r][t][0];
      for (size_t part = 1; part < kParts; ++part) sum = hn::Add(sum, acc[r][t][part]);
      y[t * y_stride + r] = hn::GetLane(hn::SumOfLanes(df, sum));
    }
  }
}

#endif  // HWY_TARGET == HWY_SCALAR || HWY_TARGET == HWY_EMU128

// Rows a block of tokens meets before the next: the rows stay in L1 or L2
// while the activations stream past them.
constexpr size_t kRowTile = 16;

// y[t * y_stride + r] for rows [begin, end) and every token, in blocks of
// tokens that fit L2, each meeting the rows a tile at a time.
template <class Type>
void MatmulRows(const Matrix& w, const Activations& x, float* y, size_t y_stride, size_t begin, size_t end) {
  using Fn = void (*)(const std::byte*, size_t, RowGroups<Type>, const Activations&, size_t, float*, size_t);
  static constexpr auto blocks = TableOfBlocks<Fn, kBlockTokens>(
      std::make_index_sequence<kBlockRows>(), []<size_t R, size_t T>() { return &GroupBlock<Type, R, T>; });
  const RowGroups<Type> groups{w.cols / model::kQK8_0};
  const size_t token_block = std::max<size_t>(1, kL2Budget / (groups.count() * sizeof(ActivationGroup)));
  const size_t block_rows = x.tokens() == 1 ? 1 : kBlockRows;
  for (size_t t0 = 0; t0 < x.tokens(); t0 += token_block) {
    const size_t t1 = std::min(x.tokens(), t0 + token_block);
    for (size_t r0 = begin; r0 < end; r0 += kRowTile) {
      const size_t r1 = std::min(end, r0 + kRowTile);
      for (size_t t = t0; t < t1; t += kBlockTokens) {
        const size_t tokens = std::min(kBlockTokens, t1 - t);
        for (size_t r = r0; r < r1; r += block_rows) {
          const size_t rows = std::min(block_rows, r1 - r);
          blocks[rows - 1][tokens - 1](w.row(r), w.row_bytes, groups, x, t, y + t * y_stride + r, y_stride);
        }
      }
    }
  }
}

void MatmulQ4_0Q8_0(const Matrix& w, const Activations& x, float* y, size_t y_stride, size_t begin, size_t end) {
  if (w.type == model::TensorType::q4_0) return MatmulRows<Q4_0>(w, x, y, y_stride, begin, end);
  MatmulRows<Q8_0>(w, x, y, y_stride, begin, end);
}

}  // namespace HWY_NAMESPACE
}  // namespace rs::kernels
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace rs::kernels {

HWY_EXPORT(MatmulQ4_0Q8_0);

void matmul_q4_0_q8_0(const Matrix& w, const Activations& x, float* y, size_t y_stride, size_t row_begin,
                      size_t row_end) {
  HWY_DYNAMIC_DISPATCH(MatmulQ4_0Q8_0)(w, x, y, y_stride, row_begin, row_end);
}

}  // namespace rs::kernels
#endif  // HWY_ONCE
