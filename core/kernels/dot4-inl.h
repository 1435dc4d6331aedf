// Each 32-bit lane's sum of its four byte products u · a (u unsigned, a signed
// with |a| ≤ 127), added to acc: VNNI's vpdpbusd; otherwise vpmaddubsw then
// vpmaddwd, exact when u < 128 (kSmallU: the pairs' sums fit int16), or two
// vpmaddwd on the even and odd bytes widened to 16 bits. (Highway's
// ReorderWidenMulAccumulate keeps lanes in place on x86 only.) For the SIMD
// targets from SSE4 up; included once per target after hwy/highway.h.
#if defined(RS_KERNELS_DOT4_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef RS_KERNELS_DOT4_INL_H_
#undef RS_KERNELS_DOT4_INL_H_
#else
#define RS_KERNELS_DOT4_INL_H_
#endif

#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace rs::kernels {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

#if HWY_TARGET != HWY_SCALAR && HWY_TARGET != HWY_EMU128
#if HWY_TARGET == HWY_AVX3_DL
// In asm, for 256 and 512 bits: Highway 1.0.3's AVX3_DL target names avxvnni but not avx512vnni, so the
// intrinsic would need a target pragma only GCC takes. Always the EVEX form: the VEX one is AVX-VNNI's, which
// AVX-512 CPUs without it (Zen 4) fault on.
template <bool kSmallU, class VU, class VA, class VI>
HWY_INLINE VI Dot4Add(VU u, VA a, VI acc) {
  auto sum = acc.raw;
  asm("%{evex%} vpdpbusd %[a], %[u], %[sum]" : [sum] "+v"(sum) : [u] "v"(u.raw), [a] "v"(a.raw));
  return VI{sum};
}
#else
static_assert(HWY_ARCH_X86, "the integer dot products are written for x86");

HWY_INLINE hn::Vec128<int16_t> Maddubs(hn::Vec128<uint8_t> u, hn::Vec128<int8_t> a) {
  return hn::Vec128<int16_t>{_mm_maddubs_epi16(u.raw, a.raw)};
}
#if HWY_CAP_GE256
HWY_INLINE hn::Vec256<int16_t> Maddubs(hn::Vec256<uint8_t> u, hn::Vec256<int8_t> a) {
  return hn::Vec256<int16_t>{_mm256_maddubs_epi16(u.raw, a.raw)};
}
#endif
#if HWY_CAP_GE512
HWY_INLINE hn::Vec512<int16_t> Maddubs(hn::Vec512<uint8_t> u, hn::Vec512<int8_t> a) {
  return hn::Vec512<int16_t>{_mm512_maddubs_epi16(u.raw, a.raw)};
}
#endif

template <bool kSmallU, class VU, class VA, class VI>
HWY_INLINE VI Dot4Add(VU u, VA a, VI acc) {
  const hn::DFromV<VI> d32;
  const hn::Repartition<int16_t, decltype(d32)> d16;
  auto unused = hn::Zero(d32);
  if constexpr (kSmallU) {
    return hn::ReorderWidenMulAccumulate(d32, Maddubs(u, a), hn::Set(d16, 1), acc, unused);
  } else {
    const hn::Repartition<uint16_t, decltype(d32)> du16;
    const auto u_even = hn::BitCast(d16, hn::And(hn::BitCast(du16, u), hn::Set(du16, 0xFF)));
    const auto u_odd = hn::BitCast(d16, hn::ShiftRight<8>(hn::BitCast(du16, u)));
    const auto a_even = hn::ShiftRight<8>(hn::ShiftLeft<8>(hn::BitCast(d16, a)));
    const auto a_odd = hn::ShiftRight<8>(hn::BitCast(d16, a));
    const auto even = hn::ReorderWidenMulAccumulate(d32, u_even, a_even, acc, unused);
    return hn::ReorderWidenMulAccumulate(d32, u_odd, a_odd, even, unused);
  }
}
#endif

template <bool kSmallU, class VU, class VA>
HWY_INLINE auto Dot4(VU u, VA a) {
  return Dot4Add<kSmallU>(u, a, hn::Zero(hn::Repartition<int32_t, hn::DFromV<VU>>()));
}
#endif  // HWY_TARGET != HWY_SCALAR && HWY_TARGET != HWY_EMU128

}  // namespace HWY_NAMESPACE
}  // namespace rs::kernels
HWY_AFTER_NAMESPACE();

#endif  // RS_KERNELS_DOT4_INL_H_
