#pragma once
// fp16 and bf16 <-> fp32, bit for bit as ggml converts them (x86 F16C for
// fp16, ggml_compute_fp32_to_bf16 for bf16). Integer-only, so the result does
// not depend on the FPU's flush-to-zero or rounding mode.
#include <bit>
#include <cstdint>

namespace rs::model {

namespace half_detail {

// v >> shift rounded to nearest, ties to even; shift in [1, 31].
constexpr uint32_t shift_right_round_even(uint32_t v, int shift) {
  const uint32_t kept = v >> shift;
  const uint32_t rest = v & ((uint32_t{1} << shift) - 1);
  const uint32_t half = uint32_t{1} << (shift - 1);
  return kept + (rest > half || (rest == half && (kept & 1)));
}

}  // namespace half_detail

constexpr float fp16_to_fp32(uint16_t h) {
  const uint32_t sign = uint32_t{h & 0x8000u} << 16;
  const uint32_t exponent = (h >> 10) & 0x1f;
  const uint32_t mantissa = h & 0x3ffu;
  if (exponent == 0x1f) {  // inf, or NaN made quiet as F16C does
    return std::bit_cast<float>(sign | 0x7f800000u | (mantissa << 13) |
                                (mantissa ? 0x400000u : 0u));
  }
  if (exponent != 0) {
    return std::bit_cast<float>(sign | ((exponent + 112) << 23) | (mantissa << 13));
  }
  if (mantissa == 0) return std::bit_cast<float>(sign);
  // Subnormal: mantissa · 2^-24, renormalised around its leading one.
  const int width = std::bit_width(mantissa);
  return std::bit_cast<float>(sign | (uint32_t(width + 102) << 23) |
                              ((mantissa << (24 - width)) & 0x7fffffu));
}

constexpr uint16_t fp32_to_fp16(float f) {
  const uint32_t bits = std::bit_cast<uint32_t>(f);
  const uint32_t sign = (bits >> 16) & 0x8000u;
  const uint32_t magnitude = bits & 0x7fffffffu;
  if (magnitude > 0x7f800000u) {  // NaN: keep the top payload bits, made quiet, as F16C does
    return uint16_t(sign | 0x7e00u | ((magnitude >> 13) & 0x1ffu));
  }
  if (magnitude >= 0x38800000u) {  // fp16 normal range (2^-14 and up); overflow rounds to inf
    const uint32_t rebiased = magnitude - (uint32_t{112} << 23);
    const uint32_t rounded = half_detail::shift_right_round_even(rebiased, 13);
    return uint16_t(sign | (rounded < 0x7c00u ? rounded : 0x7c00u));
  }
  if (magnitude <= 0x33000000u) return uint16_t(sign);  // at most 2^-25: rounds to ±0
  // fp16 subnormal, in units of 2^-24; rounding up to 0x0400 yields the smallest normal.
  const uint32_t exponent = magnitude >> 23;
  const uint32_t significand = (magnitude & 0x7fffffu) | 0x800000u;
  return uint16_t(sign | half_detail::shift_right_round_even(significand, int(126 - exponent)));
}

constexpr float bf16_to_fp32(uint16_t h) { return std::bit_cast<float>(uint32_t{h} << 16); }

constexpr uint16_t fp32_to_bf16(float f) {
  const uint32_t bits = std::bit_cast<uint32_t>(f);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return uint16_t((bits >> 16) | 64);  // NaN: force quiet
  return uint16_t((bits + (0x7fffu + ((bits >> 16) & 1))) >> 16);
}

}  // namespace rs::model
