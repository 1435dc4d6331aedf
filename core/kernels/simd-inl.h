// Per-target helpers shared by the kernels; included once per target after
// hwy/highway.h (Highway's -inl.h convention: the guard toggles per target).
#if defined(RS_KERNELS_SIMD_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef RS_KERNELS_SIMD_INL_H_
#undef RS_KERNELS_SIMD_INL_H_
#else
#define RS_KERNELS_SIMD_INL_H_
#endif

#include <array>
#include <cstddef>
#include <cstdint>
#include <utility>

#include "core/model/half.h"
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace rs::kernels {
namespace HWY_NAMESPACE {

// fp16 bits to f32: F16C's vcvtph2ps where the target has it, half.h's
// integer conversion otherwise (the same values).
HWY_INLINE float F16ToF32(uint16_t bits) {
#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX2
  return _cvtsh_ss(bits);
#else
  return model::fp16_to_fp32(bits);
#endif
}

// fn<R, T> for R ≤ kR rows and T ≤ kT tokens, as table[R − 1][T − 1].
template <class Fn, size_t kT, size_t R, size_t... Ts>
constexpr std::array<Fn, kT> RowOfBlocks(std::index_sequence<Ts...>, auto make) {
  return {make.template operator()<R, Ts + 1>()...};
}
template <class Fn, size_t kT, size_t... Rs>
constexpr auto TableOfBlocks(std::index_sequence<Rs...>, auto make) {
  return std::array<std::array<Fn, kT>, sizeof...(Rs)>{
      RowOfBlocks<Fn, kT, Rs + 1>(std::make_index_sequence<kT>(), make)...};
}

}  // namespace HWY_NAMESPACE
}  // namespace rs::kernels
HWY_AFTER_NAMESPACE();

#endif  // RS_KERNELS_SIMD_INL_H_
