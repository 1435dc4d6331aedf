// q4_0 and q8_0 weights (blocks of 32 values with one fp16 scale d) times
// q8_0 activations, read as unsigned bytes for the integer dot product (see
// matmul_kernels.h and dot_int8-inl.h).
#include <cstring>

#include "core/kernels/matmul_kernels.h"
#include "core/model/quantize.h"

// clang-format off
#include "core/kernels/simd.h"
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "core/kernels/matmul_q4_0_q8_0.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "core/kernels/simd-inl.h"
#include "core/kernels/dot_int8-inl.h"
// clang-format on

HWY_BEFORE_NAMESPACE();
namespace rs::kernels {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Every block's d (scale) and −offset · d (bias: the weights' zero point,
// taken out of the unsigned bytes). The fp16 d are gathered 32 bits from each
// block (d and the next two bytes) and converted in vectors.
template <class Block>
void BlockScales(const std::byte* row, size_t cols, float offset, float* scales, float* biases) {
  const auto* blocks = reinterpret_cast<const Block*>(row);
  const size_t n = cols / model::kQK8_0;
  const hn::ScalableTag<uint32_t> du32;
  const hn::RebindToSigned<decltype(du32)> di32;
  const hn::Rebind<uint16_t, decltype(du32)> du16;
  const hn::Rebind<hwy::float16_t, decltype(du32)> dh;
  const hn::Rebind<float, decltype(du32)> df;
  const auto offsets = hn::Mul(hn::Iota(di32, 0), hn::Set(di32, int32_t(sizeof(Block))));
  size_t b = 0;
  for (; b + hn::Lanes(df) <= n; b += hn::Lanes(df)) {
    const auto bits = hn::GatherOffset(du32, reinterpret_cast<const uint32_t*>(blocks + b), offsets);
    const auto d = hn::PromoteTo(df, hn::BitCast(dh, hn::TruncateTo(du16, bits)));
    hn::StoreU(d, df, scales + b);
    hn::StoreU(hn::Mul(d, hn::Set(df, -offset)), df, biases + b);
  }
  for (; b < n; ++b) {
    scales[b] = F16ToF32(blocks[b].d);
    biases[b] = -offset * scales[b];
  }
}

// q4_0: u = the nibble, value j < 16 the low one of qs[j], j ≥ 16 the high one
// of qs[j − 16]; bias −8d.
struct Q4_0 {
  using Block = model::block_q4_0;
  static constexpr size_t kBlockValues = model::kQK4_0, kSubBlock = model::kQK4_0;
  static constexpr bool kSmallValues = true;  // below 128

  static void Scales(const std::byte* row, size_t cols, float* scales, float* biases) {
    BlockScales<Block>(row, cols, 8.0f, scales, biases);
  }

  static void Unpack(const std::byte* row, size_t cols, uint8_t* u) {
    constexpr size_t kHalf = kSubBlock / 2;
    const hn::CappedTag<uint8_t, kHalf> d8;
    const auto* blocks = reinterpret_cast<const Block*>(row);
    for (size_t b = 0; b < cols / kSubBlock; ++b, u += kSubBlock) {
      for (size_t i = 0; i < kHalf; i += hn::Lanes(d8)) {
        const auto qs = hn::LoadU(d8, blocks[b].qs + i);
        hn::StoreU(hn::And(qs, hn::Set(d8, 0x0F)), d8, u + i);
        hn::StoreU(hn::ShiftRight<4>(qs), d8, u + kHalf + i);
      }
    }
  }

#if HWY_CAP_GE256
  static constexpr size_t kStep = 1;  // block

  // Block c: [qs | qs], the upper copy shifted by 4, both masked to nibbles.
  static HWY_INLINE void Values(const std::byte* row, size_t c, hn::Vec<ChunkTag> (&u)[kStep]) {
    const ChunkTag d8;
    const hn::Repartition<uint16_t, ChunkTag> d16;
    const auto qs = hn::BitCast(d16, hn::LoadDup128(d8, reinterpret_cast<const Block*>(row)[c].qs));
#if HWY_TARGET <= HWY_AVX3
    const auto nibbles = hn::Shr(qs, hn::ConcatUpperLower(d16, hn::Set(d16, 4), hn::Zero(d16)));  // vpsrlvw
#else
    const auto nibbles = hn::ConcatUpperLower(d16, hn::ShiftRight<4>(qs), qs);
#endif
    u[0] = hn::And(hn::BitCast(d8, nibbles), hn::Set(d8, 0x0F));
  }
#endif
};

// q8_0: u = q + 128 (the sign bit flipped); bias −128d.
struct Q8_0 {
  using Block = model::block_q8_0;
  static constexpr size_t kBlockValues = model::kQK8_0, kSubBlock = model::kQK8_0;
  static constexpr bool kSmallValues = false;

  static void Scales(const std::byte* row, size_t cols, float* scales, float* biases) {
    BlockScales<Block>(row, cols, 128.0f, scales, biases);
  }

  static void Unpack(const std::byte* row, size_t cols, uint8_t* u) {
    const hn::CappedTag<uint8_t, kSubBlock> d8;
    const auto* blocks = reinterpret_cast<const Block*>(row);
    for (size_t b = 0; b < cols / kSubBlock; ++b, u += kSubBlock) {
      for (size_t i = 0; i < kSubBlock; i += hn::Lanes(d8)) {
        const auto qs = hn::LoadU(d8, reinterpret_cast<const uint8_t*>(blocks[b].qs) + i);
        hn::StoreU(hn::Xor(qs, hn::Set(d8, 0x80)), d8, u + i);
      }
    }
  }

#if HWY_CAP_GE256
  static constexpr size_t kStep = 1;  // block

  static HWY_INLINE void Values(const std::byte* row, size_t c, hn::Vec<ChunkTag> (&u)[kStep]) {
    const ChunkTag d8;
    const auto qs = hn::LoadU(d8, reinterpret_cast<const uint8_t*>(reinterpret_cast<const Block*>(row)[c].qs));
    u[0] = hn::Xor(qs, hn::Set(d8, 0x80));
  }
#endif
};

void MatmulQ4_0Q8_0(const Matrix& w, const Activations& x, float* y, size_t y_stride, size_t begin, size_t end,
                    UnpackedRows& tile) {
  if (w.type == model::TensorType::q4_0) return MatmulRows<Q4_0>(w, x, y, y_stride, begin, end, tile);
  MatmulRows<Q8_0>(w, x, y, y_stride, begin, end, tile);
}

}  // namespace HWY_NAMESPACE
}  // namespace rs::kernels
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace rs::kernels {

HWY_EXPORT(MatmulQ4_0Q8_0);

void matmul_q4_0_q8_0(const Matrix& w, const Activations& x, float* y, size_t y_stride, size_t row_begin,
                      size_t row_end, UnpackedRows& tile) {
  HWY_DYNAMIC_DISPATCH(MatmulQ4_0Q8_0)(w, x, y, y_stride, row_begin, row_end, tile);
}

}  // namespace rs::kernels
#endif  // HWY_ONCE
