// q4_K, q5_K and q6_K weights (super-blocks of 256 values) times q8_K
// activations, read as unsigned bytes for the integer dot product (see
// matmul_kernels.h and dot_int8-inl.h).
#include <cstring>
#include <type_traits>

#include "core/kernels/matmul_kernels.h"
#include "core/model/quantize.h"

// clang-format off
#include "core/kernels/simd.h"
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "core/kernels/matmul_kquants.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "core/kernels/simd-inl.h"
#include "core/kernels/dot_int8-inl.h"
// clang-format on

HWY_BEFORE_NAMESPACE();
namespace rs::kernels {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// kN small integers times `factor` as floats.
template <size_t kN, class T>
void Scaled(const T* v, float factor, float* out) {
  const hn::CappedTag<float, kN> df;
  const hn::Rebind<T, decltype(df)> dt;
  const hn::RebindToSigned<decltype(df)> di;
  for (size_t i = 0; i < kN; i += hn::Lanes(df)) {
    const auto f = hn::ConvertTo(df, hn::PromoteTo(di, hn::LoadU(dt, v + i)));
    hn::StoreU(hn::Mul(f, hn::Set(df, factor)), df, out + i);
  }
}

// q4_K / q5_K's 12 packed bytes as 8 scales then 8 mins, 6 bits each, all at
// once (ggml's kmask shuffle; model::scale_min_k4 is the one-at-a-time form).
inline void UnpackScalesMins(const uint8_t* packed, uint8_t out[16]) {
  constexpr uint32_t kLow6 = 0x3f3f3f3f, kLow4 = 0x0f0f0f0f, kLow2 = 0x03030303;
  uint32_t s[4];
  std::memcpy(s, packed, 12);
  s[3] = ((s[2] >> 4) & kLow4) | (((s[1] >> 6) & kLow2) << 4);  // mins 4-7
  const uint32_t mins_low = s[1] & kLow6;                       // mins 0-3
  s[1] = (s[2] & kLow4) | (((s[0] >> 6) & kLow2) << 4);         // scales 4-7
  s[2] = mins_low;
  s[0] &= kLow6;  // scales 0-3
  std::memcpy(out, s, 16);
}

// q4_K and q5_K: u = q, the 5th bit from qh for q5_K; sub-blocks of 32 take
// d · scale and bias −dmin · min. Each 32 bytes of qs hold 64 values, the low
// nibbles first; q5_K's values 64k + l and 64k + 32 + l (l < 32) take bits 2k
// and 2k + 1 of qh[l].
template <class BlockType>
struct Q4KQ5K {
  using Block = BlockType;
  static constexpr bool kHighBit = std::is_same_v<Block, model::block_q5_K>;
  static constexpr size_t kBlockValues = model::kQK_K, kSubBlock = 32;
  static constexpr bool kSmallValues = true;  // below 128

  static void Scales(const std::byte* row, size_t cols, float* scales, float* biases) {
    const auto* blocks = reinterpret_cast<const Block*>(row);
    for (size_t b = 0; b < cols / model::kQK_K; ++b, scales += 8, biases += 8) {
      uint8_t scales_mins[16];
      UnpackScalesMins(blocks[b].scales, scales_mins);
      Scaled<8>(scales_mins, F16ToF32(blocks[b].d), scales);
      Scaled<8>(scales_mins + 8, -F16ToF32(blocks[b].dmin), biases);
    }
  }

  static void Unpack(const std::byte* row, size_t cols, uint8_t* u) {
    const hn::CappedTag<uint8_t, 32> d8;
    const auto* blocks = reinterpret_cast<const Block*>(row);
    for (size_t b = 0; b < cols / model::kQK_K; ++b) {
      for (size_t k = 0; k < 4; ++k, u += 64) {
        for (size_t l = 0; l < 32; l += hn::Lanes(d8)) {
          const auto qs = hn::LoadU(d8, blocks[b].qs + 32 * k + l);
          auto lo = hn::And(qs, hn::Set(d8, 0x0F)), hi = hn::ShiftRight<4>(qs);
          if constexpr (kHighBit) {
            const auto qh = hn::LoadU(d8, blocks[b].qh + l);
            const auto sixteen = hn::Set(d8, 16);
            lo = hn::Or(lo, hn::IfThenElseZero(hn::TestBit(qh, hn::Set(d8, uint8_t(1 << (2 * k)))), sixteen));
            hi = hn::Or(hi, hn::IfThenElseZero(hn::TestBit(qh, hn::Set(d8, uint8_t(2 << (2 * k)))), sixteen));
          }
          hn::StoreU(lo, d8, u + l);
          hn::StoreU(hi, d8, u + 32 + l);
        }
      }
    }
  }

#if HWY_CAP_GE256
  static constexpr size_t kStep = 2;  // the 64 values of 32 bytes of qs

  // Step s: bytes 32k.. of super-block s / 4's qs (k = s % 4), low then high
  // nibbles; q5_K's bits 2k and 2k + 1 of qh (shifted in 16-bit lanes: the
  // masks keep each byte's own bits).
  static HWY_INLINE void Values(const std::byte* row, size_t s, hn::Vec<ChunkTag> (&u)[kStep]) {
    const ChunkTag d8;
    const hn::Repartition<uint16_t, ChunkTag> d16;
    const Block& b = reinterpret_cast<const Block*>(row)[s / 4];
    const size_t k = s % 4;
    const auto qs = hn::LoadU(d8, b.qs + 32 * k);
    u[0] = hn::And(qs, hn::Set(d8, 0x0F));
    u[1] = hn::ShiftRight<4>(qs);
    if constexpr (kHighBit) {
      const auto qh = hn::ShiftRightSame(hn::BitCast(d16, hn::LoadU(d8, b.qh)), int(2 * k));
      u[0] = hn::OrAnd(u[0], hn::BitCast(d8, hn::ShiftLeft<4>(qh)), hn::Set(d8, 0x10));
      u[1] = hn::OrAnd(u[1], hn::BitCast(d8, hn::ShiftLeft<3>(qh)), hn::Set(d8, 0x10));
    }
  }
#endif
};

// q6_K: u = the 6-bit q, low 4 bits in ql and high 2 in qh; sub-blocks of 16
// take d · scale and bias −32 · d · scale. Per half of 128, values l, l + 32,
// l + 64, l + 96 (l < 32) take ql[l] & 15, ql[l + 32] & 15, ql[l] >> 4,
// ql[l + 32] >> 4 and bits 0-1, 2-3, 4-5, 6-7 of qh[l].
struct Q6K {
  using Block = model::block_q6_K;
  static constexpr size_t kBlockValues = model::kQK_K, kSubBlock = 16;
  static constexpr bool kSmallValues = true;  // below 128

  static void Scales(const std::byte* row, size_t cols, float* scales, float* biases) {
    const auto* blocks = reinterpret_cast<const Block*>(row);
    for (size_t b = 0; b < cols / model::kQK_K; ++b, scales += 16, biases += 16) {
      const float d = F16ToF32(blocks[b].d);
      Scaled<16>(blocks[b].scales, d, scales);
      Scaled<16>(blocks[b].scales, -32.0f * d, biases);
    }
  }

  static void Unpack(const std::byte* row, size_t cols, uint8_t* u) {
    const hn::CappedTag<uint8_t, 32> d8;
    const auto low4 = hn::Set(d8, 0x0F), bits45 = hn::Set(d8, 0x30);
    const auto* blocks = reinterpret_cast<const Block*>(row);
    for (size_t b = 0; b < cols / model::kQK_K; ++b) {
      for (size_t half = 0; half < 2; ++half, u += 128) {
        const uint8_t* ql = blocks[b].ql + 64 * half;
        const uint8_t* qh = blocks[b].qh + 32 * half;
        for (size_t l = 0; l < 32; l += hn::Lanes(d8)) {
          const auto a = hn::LoadU(d8, ql + l), c = hn::LoadU(d8, ql + 32 + l), h = hn::LoadU(d8, qh + l);
          hn::StoreU(hn::Or(hn::And(a, low4), hn::And(hn::ShiftLeft<4>(h), bits45)), d8, u + l);
          hn::StoreU(hn::Or(hn::And(c, low4), hn::And(hn::ShiftLeft<2>(h), bits45)), d8, u + 32 + l);
          hn::StoreU(hn::Or(hn::ShiftRight<4>(a), hn::And(h, bits45)), d8, u + 64 + l);
          hn::StoreU(hn::Or(hn::ShiftRight<4>(c), hn::And(hn::ShiftRight<2>(h), bits45)), d8, u + 96 + l);
        }
      }
    }
  }

#if HWY_CAP_GE256
  static constexpr size_t kStep = 4;  // a half of 128 values

  // Step s: half s % 2 of super-block s / 2 (shifted in 16-bit lanes: the
  // masks keep each byte's own bits).
  static HWY_INLINE void Values(const std::byte* row, size_t s, hn::Vec<ChunkTag> (&u)[kStep]) {
    const ChunkTag d8;
    const hn::Repartition<uint16_t, ChunkTag> d16;
    const Block& b = reinterpret_cast<const Block*>(row)[s / 2];
    const size_t half = s % 2;
    const auto ql0 = hn::LoadU(d8, b.ql + 64 * half), ql1 = hn::LoadU(d8, b.ql + 64 * half + 32);
    const auto qh = hn::BitCast(d16, hn::LoadU(d8, b.qh + 32 * half));
    const auto low4 = hn::Set(d8, 0x0F), bits45 = hn::Set(d8, 0x30);
    u[0] = hn::OrAnd(hn::And(ql0, low4), hn::BitCast(d8, hn::ShiftLeft<4>(qh)), bits45);
    u[1] = hn::OrAnd(hn::And(ql1, low4), hn::BitCast(d8, hn::ShiftLeft<2>(qh)), bits45);
    u[2] = hn::OrAnd(hn::ShiftRight<4>(ql0), hn::BitCast(d8, qh), bits45);
    u[3] = hn::OrAnd(hn::ShiftRight<4>(ql1), hn::BitCast(d8, hn::ShiftRight<2>(qh)), bits45);
  }
#endif
};

void MatmulKQuants(const Matrix& w, const Activations& x, float* y, size_t y_stride, size_t begin, size_t end,
                   UnpackedRows& tile) {
  switch (w.type) {
    case model::TensorType::q4_k:
      return MatmulRows<Q4KQ5K<model::block_q4_K>>(w, x, y, y_stride, begin, end, tile);
    case model::TensorType::q5_k:
      return MatmulRows<Q4KQ5K<model::block_q5_K>>(w, x, y, y_stride, begin, end, tile);
    default:
      return MatmulRows<Q6K>(w, x, y, y_stride, begin, end, tile);
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace rs::kernels
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace rs::kernels {

HWY_EXPORT(MatmulKQuants);

void matmul_kquants(const Matrix& w, const Activations& x, float* y, size_t y_stride, size_t row_begin, size_t row_end,
                    UnpackedRows& tile) {
  HWY_DYNAMIC_DISPATCH(MatmulKQuants)(w, x, y, y_stride, row_begin, row_end, tile);
}

}  // namespace rs::kernels
#endif  // HWY_ONCE
