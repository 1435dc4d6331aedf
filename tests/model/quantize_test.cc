#include "core/model/quantize.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <stdexcept>
#include <vector>

#include "core/model/half.h"

namespace rs::model {
namespace {

uint32_t bits(float f) { return std::bit_cast<uint32_t>(f); }
float from_bits(uint32_t u) { return std::bit_cast<float>(u); }

// fp16 decoded from the IEEE definition, independent of half.h.
float reference_fp16(uint16_t h) {
  const int exponent = (h >> 10) & 31;
  const int mantissa = h & 1023;
  float magnitude;
  if (exponent == 31) {
    magnitude = mantissa ? std::numeric_limits<float>::quiet_NaN()
                         : std::numeric_limits<float>::infinity();
  } else if (exponent == 0) {
    magnitude = std::ldexp(float(mantissa), -24);
  } else {
    magnitude = std::ldexp(float(mantissa + 1024), exponent - 25);
  }
  return (h & 0x8000) ? -magnitude : magnitude;
}

bool is_fp16_nan(uint16_t h) { return (h & 0x7c00) == 0x7c00 && (h & 0x3ff) != 0; }

static_assert(fp32_to_fp16(1.0f) == 0x3c00 && fp16_to_fp32(0x3c00) == 1.0f);
static_assert(fp32_to_bf16(1.0f) == 0x3f80 && bf16_to_fp32(0x3f80) == 1.0f);

TEST(HalfFp16, DecodesEveryValueAsIeee) {
  for (uint32_t h = 0; h <= 0xffff; ++h) {
    const float f = fp16_to_fp32(uint16_t(h));
    if (is_fp16_nan(uint16_t(h))) {
      EXPECT_TRUE(std::isnan(f)) << std::hex << h;
    } else {
      EXPECT_EQ(bits(f), bits(reference_fp16(uint16_t(h)))) << std::hex << h;
    }
  }
}

TEST(HalfFp16, EveryValueRoundTrips) {
  for (uint32_t h = 0; h <= 0xffff; ++h) {
    const uint16_t back = fp32_to_fp16(fp16_to_fp32(uint16_t(h)));
    if (is_fp16_nan(uint16_t(h))) {
      EXPECT_EQ(back, h | 0x200) << std::hex << h;  // payload kept, made quiet
    } else {
      EXPECT_EQ(back, h) << std::hex << h;
    }
  }
}

TEST(HalfFp16, KnownValues) {
  EXPECT_EQ(fp32_to_fp16(1.0f), 0x3c00);
  EXPECT_EQ(fp32_to_fp16(-2.0f), 0xc000);
  EXPECT_EQ(fp32_to_fp16(65504.0f), 0x7bff);
  EXPECT_EQ(fp32_to_fp16(65519.996f), 0x7bff);
  EXPECT_EQ(fp32_to_fp16(65520.0f), 0x7c00);  // the tie above the largest finite goes to inf
  EXPECT_EQ(fp32_to_fp16(1e10f), 0x7c00);
  EXPECT_EQ(fp32_to_fp16(std::numeric_limits<float>::infinity()), 0x7c00);
  EXPECT_EQ(fp32_to_fp16(-std::numeric_limits<float>::infinity()), 0xfc00);
  EXPECT_EQ(fp32_to_fp16(5.96e-8f), 0x0001);
  EXPECT_EQ(fp32_to_fp16(6.1035156e-5f), 0x0400);  // 2^-14, the smallest normal
  EXPECT_EQ(fp32_to_fp16(2.9e-8f), 0x0000);
  EXPECT_EQ(fp32_to_fp16(1e-45f), 0x0000);  // fp32 subnormal
  EXPECT_EQ(fp32_to_fp16(0.0f), 0x0000);
  EXPECT_EQ(fp32_to_fp16(-0.0f), 0x8000);
  EXPECT_EQ(fp32_to_fp16(0.1f), 0x2e66);
  EXPECT_EQ(fp32_to_fp16(from_bits(0x7fc00000)), 0x7e00);
  EXPECT_EQ(fp32_to_fp16(from_bits(0xff800001)), 0xfe00);  // signalling NaN made quiet
  EXPECT_EQ(fp32_to_fp16(from_bits(0x7fa02000)), 0x7f01);  // top payload bits kept
  EXPECT_EQ(fp16_to_fp32(0x0001), std::ldexp(1.0f, -24));
  EXPECT_EQ(fp16_to_fp32(0x7bff), 65504.0f);
  EXPECT_EQ(bits(fp16_to_fp32(0x8000)), 0x80000000u);
  EXPECT_EQ(bits(fp16_to_fp32(0x7d00)), 0x7fe00000u);  // signalling NaN made quiet
}

TEST(HalfFp16, TiesRoundToEven) {
  EXPECT_EQ(fp32_to_fp16(1.0f + std::ldexp(1.0f, -11)), 0x3c00);      // 1 + ulp/2: to even 1.0
  EXPECT_EQ(fp32_to_fp16(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3c02);  // 1 + 3 ulp/2: to even 2 ulp
  EXPECT_EQ(fp32_to_fp16(std::ldexp(1.0f, -25)), 0x0000);             // half the smallest subnormal
  EXPECT_EQ(fp32_to_fp16(std::ldexp(3.0f, -25)), 0x0002);
  EXPECT_EQ(fp32_to_fp16(std::ldexp(2047.0f, -25)), 0x0400);  // largest subnormal + ulp/2 → normal
}

// Every rounding boundary: each midpoint between neighbouring fp16 values
// goes to the even one, and one fp32 ulp either side goes to the nearer one.
TEST(HalfFp16, EveryMidpointRoundsCorrectly) {
  for (uint32_t h = 0; h < 0x7c00; ++h) {
    const float lo = reference_fp16(uint16_t(h));
    const float hi = h + 1 == 0x7c00 ? 65536.0f : reference_fp16(uint16_t(h + 1));
    const float mid = (lo + hi) / 2;  // exact: one bit more than fp16 has
    const uint16_t even = (h & 1) ? uint16_t(h + 1) : uint16_t(h);
    for (const float sign : {1.0f, -1.0f}) {
      const uint16_t s = sign < 0 ? 0x8000 : 0;
      EXPECT_EQ(fp32_to_fp16(sign * lo), h | s) << std::hex << h;
      EXPECT_EQ(fp32_to_fp16(sign * mid), even | s) << std::hex << h;
      EXPECT_EQ(fp32_to_fp16(sign * std::nextafter(mid, 0.0f)), h | s) << std::hex << h;
      EXPECT_EQ(fp32_to_fp16(sign * std::nextafter(mid, hi)), (h + 1) | s) << std::hex << h;
    }
  }
}

TEST(HalfBf16, KnownValues) {
  EXPECT_EQ(fp32_to_bf16(1.0f), 0x3f80);
  EXPECT_EQ(fp32_to_bf16(-2.0f), 0xc000);
  EXPECT_EQ(fp32_to_bf16(-0.0f), 0x8000);
  EXPECT_EQ(fp32_to_bf16(from_bits(0x3f808000)), 0x3f80);  // tie: to even
  EXPECT_EQ(fp32_to_bf16(from_bits(0x3f818000)), 0x3f82);  // tie: to even
  EXPECT_EQ(fp32_to_bf16(from_bits(0x3f808001)), 0x3f81);
  EXPECT_EQ(fp32_to_bf16(from_bits(0x3f807fff)), 0x3f80);
  EXPECT_EQ(fp32_to_bf16(std::numeric_limits<float>::infinity()), 0x7f80);
  EXPECT_EQ(fp32_to_bf16(std::numeric_limits<float>::max()), 0x7f80);  // rounds up to inf
  EXPECT_EQ(fp32_to_bf16(from_bits(0x7f800001)), 0x7fc0);  // NaN whose payload is all below bf16's
  EXPECT_EQ(fp32_to_bf16(from_bits(0xffc00000)), 0xffc0);
  EXPECT_EQ(bf16_to_fp32(0x3f80), 1.0f);
  EXPECT_EQ(bits(bf16_to_fp32(0xc049)), 0xc0490000u);
}

TEST(HalfBf16, EveryValueRoundTrips) {
  for (uint32_t h = 0; h <= 0xffff; ++h) {
    const float f = bf16_to_fp32(uint16_t(h));
    EXPECT_EQ(bits(f), h << 16);
    const bool nan = (h & 0x7f80) == 0x7f80 && (h & 0x7f) != 0;
    EXPECT_EQ(fp32_to_bf16(f), nan ? h | 0x40 : h) << std::hex << h;
  }
}

// ---- Dequantization against references written from the format description.

// A positive or negative normal fp16 of magnitude 2^-10 .. 2^6.
uint16_t random_scale(std::mt19937& rng) {
  const uint32_t exponent = 5 + rng() % 16;
  return uint16_t((rng() & 0x83ff) | (exponent << 10));
}

template <typename Block>
std::vector<Block> random_blocks(std::mt19937& rng, size_t count) {
  std::vector<unsigned char> bytes(count * sizeof(Block));
  for (unsigned char& b : bytes) b = uint8_t(rng());
  std::vector<Block> blocks(count);
  std::memcpy(blocks.data(), bytes.data(), bytes.size());
  return blocks;
}

std::vector<float> dequantized(TensorType type, const void* src, size_t n) {
  std::vector<float> out(n);
  dequantize_row(type, src, out.data(), n);
  return out;
}

void expect_same_floats(const std::vector<float>& actual, const std::vector<float>& expected) {
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t i = 0; i < actual.size(); ++i) {
    ASSERT_EQ(bits(actual[i]), bits(expected[i])) << "value " << i << ": " << actual[i]
                                                  << " != " << expected[i];
  }
}

// q4_K / q5_K: 8 six-bit scales and mins packed in 12 bytes.
struct Unpacked {
  int scale[8];
  int min[8];
};
Unpacked unpack_k_scales(const uint8_t* s) {
  Unpacked u;
  for (int k = 0; k < 4; ++k) {
    u.scale[k] = s[k] & 0x3f;      // bytes 0..3: scale k, low 6 bits
    u.min[k] = s[k + 4] & 0x3f;    // bytes 4..7: min k, low 6 bits
    // Scale and min k + 4: low and high nibble of bytes 8..11, top bits from 0..3 and 4..7.
    u.scale[k + 4] = (s[k + 8] & 0xf) | ((s[k] >> 6) << 4);
    u.min[k + 4] = (s[k + 8] >> 4) | ((s[k + 4] >> 6) << 4);
  }
  return u;
}

TEST(QuantDequantize, Q4_0MatchesFormat) {
  std::mt19937 rng(1);
  std::vector<block_q4_0> blocks = random_blocks<block_q4_0>(rng, 64);
  std::vector<float> expected;
  for (block_q4_0& b : blocks) {
    b.d = random_scale(rng);
    const float d = reference_fp16(b.d);
    for (int j = 0; j < 32; ++j) {
      const int q = j < 16 ? b.qs[j] & 0xf : b.qs[j - 16] >> 4;
      expected.push_back((q - 8) * d);
    }
  }
  expect_same_floats(dequantized(TensorType::q4_0, blocks.data(), expected.size()), expected);
}

TEST(QuantDequantize, Q8_0MatchesFormat) {
  std::mt19937 rng(2);
  std::vector<block_q8_0> blocks = random_blocks<block_q8_0>(rng, 64);
  std::vector<float> expected;
  for (block_q8_0& b : blocks) {
    b.d = random_scale(rng);
    for (int j = 0; j < 32; ++j) expected.push_back(b.qs[j] * reference_fp16(b.d));
  }
  expect_same_floats(dequantized(TensorType::q8_0, blocks.data(), expected.size()), expected);
}

TEST(QuantDequantize, Q4_KMatchesFormat) {
  std::mt19937 rng(3);
  std::vector<block_q4_K> blocks = random_blocks<block_q4_K>(rng, 16);
  std::vector<float> expected;
  for (block_q4_K& b : blocks) {
    b.d = random_scale(rng);
    b.dmin = random_scale(rng);
    const float d = reference_fp16(b.d), dmin = reference_fp16(b.dmin);
    const Unpacked u = unpack_k_scales(b.scales);
    for (int e = 0; e < 256; ++e) {
      const int s = e / 32;                          // sub-block
      const uint8_t byte = b.qs[(s / 2) * 32 + e % 32];  // sub-blocks 2k, 2k+1 share 32 bytes
      const int q = s % 2 ? byte >> 4 : byte & 0xf;
      expected.push_back(d * u.scale[s] * q - dmin * u.min[s]);
    }
  }
  expect_same_floats(dequantized(TensorType::q4_k, blocks.data(), expected.size()), expected);
}

TEST(QuantDequantize, Q5_KMatchesFormat) {
  std::mt19937 rng(4);
  std::vector<block_q5_K> blocks = random_blocks<block_q5_K>(rng, 16);
  std::vector<float> expected;
  for (block_q5_K& b : blocks) {
    b.d = random_scale(rng);
    b.dmin = random_scale(rng);
    const float d = reference_fp16(b.d), dmin = reference_fp16(b.dmin);
    const Unpacked u = unpack_k_scales(b.scales);
    for (int e = 0; e < 256; ++e) {
      const int s = e / 32, l = e % 32;
      const uint8_t byte = b.qs[(s / 2) * 32 + l];
      const int low = s % 2 ? byte >> 4 : byte & 0xf;
      const int high = (b.qh[l] >> s) & 1;  // sub-block s keeps its 5th bits in bit s of qh
      expected.push_back(d * u.scale[s] * (low + 16 * high) - dmin * u.min[s]);
    }
  }
  expect_same_floats(dequantized(TensorType::q5_k, blocks.data(), expected.size()), expected);
}

TEST(QuantDequantize, Q6_KMatchesFormat) {
  std::mt19937 rng(5);
  std::vector<block_q6_K> blocks = random_blocks<block_q6_K>(rng, 16);
  std::vector<float> expected;
  for (block_q6_K& b : blocks) {
    b.d = random_scale(rng);
    const float d = reference_fp16(b.d);
    for (int e = 0; e < 256; ++e) {
      // Each 128-value half uses 64 ql bytes and 32 qh bytes; its four 32-value
      // quarters take ql[l] low, ql[l+32] low, ql[l] high, ql[l+32] high nibbles
      // and bit pairs 0, 1, 2, 3 of qh[l].
      const int half = e / 128, quarter = e % 128 / 32, l = e % 32;
      const uint8_t low_byte = b.ql[64 * half + l + 32 * (quarter % 2)];
      const int low = quarter < 2 ? low_byte & 0xf : low_byte >> 4;
      const int high = (b.qh[32 * half + l] >> (2 * quarter)) & 3;
      expected.push_back(d * b.scales[e / 16] * ((low | (high << 4)) - 32));
    }
  }
  expect_same_floats(dequantized(TensorType::q6_k, blocks.data(), expected.size()), expected);
}

TEST(QuantDequantize, FloatRows) {
  std::mt19937 rng(6);
  std::vector<uint16_t> halves(4096);
  std::vector<float> from_f16, from_bf16;
  for (uint16_t& h : halves) {
    h = uint16_t(rng());
    from_f16.push_back(reference_fp16(h));
    from_bf16.push_back(from_bits(uint32_t{h} << 16));
  }
  std::vector<float> f16 = dequantized(TensorType::f16, halves.data(), halves.size());
  for (size_t i = 0; i < halves.size(); ++i) {
    if (is_fp16_nan(halves[i])) f16[i] = from_f16[i] = 0;  // NaN bits are checked in HalfFp16
  }
  expect_same_floats(f16, from_f16);
  expect_same_floats(dequantized(TensorType::bf16, halves.data(), halves.size()), from_bf16);
  expect_same_floats(dequantized(TensorType::f32, from_bf16.data(), from_bf16.size()), from_bf16);
}

TEST(QuantDequantize, Q4_0HandMadeBlock) {
  block_q4_0 b{};
  b.d = 0x3800;  // 0.5
  for (int j = 0; j < 16; ++j) b.qs[j] = uint8_t(j | ((15 - j) << 4));
  const std::vector<float> expected = {
      -4.0, -3.5, -3.0, -2.5, -2.0, -1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5,
      3.5, 3.0, 2.5, 2.0, 1.5, 1.0, 0.5, 0.0, -0.5, -1.0, -1.5, -2.0, -2.5, -3.0, -3.5, -4.0};
  expect_same_floats(dequantized(TensorType::q4_0, &b, 32), expected);
}

TEST(QuantDequantize, Q8_0HandMadeBlock) {
  block_q8_0 b{};
  b.d = 0x3800;  // 0.5
  const int8_t qs[] = {-128, -127, -1, 0, 1, 3, 126, 127};
  std::memcpy(b.qs, qs, sizeof qs);
  std::vector<float> expected = {-64.0, -63.5, -0.5, 0.0, 0.5, 1.5, 63.0, 63.5};
  expected.resize(32, 0.0f);
  expect_same_floats(dequantized(TensorType::q8_0, &b, 32), expected);
}

// Sub-block scales and mins of q4_K packed by hand: 53 = 0b11'0101, 63 = 0b11'1111 and
// 42 = 0b10'1010 need the spare top bits of bytes 1, 2 and 5.
constexpr int kHandScales[8] = {1, 2, 3, 4, 10, 53, 63, 0};
constexpr int kHandMins[8] = {2, 0, 1, 63, 5, 42, 0, 7};
constexpr uint8_t kHandPackedScales[12] = {0x01, 0xc2, 0xc3, 0x04, 0x02, 0x80,
                                           0x01, 0x3f, 0x5a, 0xa5, 0x0f, 0x70};

TEST(QuantDequantize, ScaleMinK4UnpacksAllEight) {
  for (int j = 0; j < 8; ++j) {
    EXPECT_EQ(scale_min_k4(kHandPackedScales, j).scale, kHandScales[j]) << j;
    EXPECT_EQ(scale_min_k4(kHandPackedScales, j).min, kHandMins[j]) << j;
  }
}

TEST(QuantDequantize, Q4_KHandMadeBlock) {
  block_q4_K b{};
  b.d = 0x3800;     // 0.5
  b.dmin = 0x3400;  // 0.25
  std::memcpy(b.scales, kHandPackedScales, sizeof b.scales);
  // Bytes 32k..32k+31: low nibble k + 1 (sub-block 2k), high nibble k + 8 (sub-block 2k + 1).
  for (int k = 0; k < 4; ++k) std::memset(b.qs + 32 * k, (k + 1) | ((k + 8) << 4), 32);
  // 0.5·scale·q − 0.25·min per sub-block: 0.5·1·1 − 0.25·2, 0.5·2·8 − 0, … 0.5·0·11 − 0.25·7.
  const float per_sub_block[8] = {0.0f, 8.0f, 2.75f, 2.25f, 13.75f, 254.5f, 126.0f, -1.75f};
  std::vector<float> expected;
  for (float v : per_sub_block) expected.insert(expected.end(), 32, v);
  expect_same_floats(dequantized(TensorType::q4_k, &b, 256), expected);
}

// ---- Quantizers.

template <typename Block>
Block quantized(TensorType type, const std::vector<float>& x) {
  Block b;
  quantize_row(type, x.data(), &b, x.size());
  return b;
}

TEST(QuantQ8_0, HandComputedBytes) {
  // amax 127 → d = 1: round half away from zero.
  std::vector<float> x(32, 0.0f);
  const float values[] = {127, -127, 1.5, -2.5, 0.49, -0.5, 126.5, 0.5};
  std::copy(std::begin(values), std::end(values), x.begin());
  block_q8_0 b = quantized<block_q8_0>(TensorType::q8_0, x);
  EXPECT_EQ(b.d, 0x3c00);
  const int8_t expected[] = {127, -127, 2, -3, 0, -1, 127, 1};
  for (int j = 0; j < 32; ++j) EXPECT_EQ(b.qs[j], j < 8 ? expected[j] : 0) << j;

  // amax 63.5 from a negative value → d = 0.5, id = 2.
  std::fill(x.begin(), x.end(), 0.25f);
  x[0] = -63.5f;
  x[1] = -0.75f;
  b = quantized<block_q8_0>(TensorType::q8_0, x);
  EXPECT_EQ(b.d, 0x3800);
  EXPECT_EQ(b.qs[0], -127);
  EXPECT_EQ(b.qs[1], -2);
  for (int j = 2; j < 32; ++j) EXPECT_EQ(b.qs[j], 1) << j;
}

TEST(QuantQ8_0, ZeroBlock) {
  const block_q8_0 b = quantized<block_q8_0>(TensorType::q8_0, std::vector<float>(32, 0.0f));
  EXPECT_EQ(b.d, 0x0000);
  for (int8_t q : b.qs) EXPECT_EQ(q, 0);
}

TEST(QuantQ4_0, HandComputedBytes) {
  // Largest magnitude −4 → d = −4/−8 = 0.5, id = 2; q = min(15, trunc(2x + 8.5)).
  std::vector<float> x(32, 0.0f);
  const float first[] = {-4, 4, 0.25, -0.25, 1.0, 3.4, -3.9, 0.74};  // q 0 15 9 8 10 15 0 9
  std::copy(std::begin(first), std::end(first), x.begin());
  x[16] = -1.0f;  // q 6, high nibble of qs[0]
  x[17] = 2.0f;   // q 12, high nibble of qs[1]
  const block_q4_0 b = quantized<block_q4_0>(TensorType::q4_0, x);
  EXPECT_EQ(b.d, 0x3800);
  const uint8_t expected[16] = {0x60, 0xcf, 0x89, 0x88, 0x8a, 0x8f, 0x80, 0x89,
                                0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88};
  for (int j = 0; j < 16; ++j) EXPECT_EQ(b.qs[j], expected[j]) << j;
}

TEST(QuantQ4_0, SignedMaximumPicksTheScaleSign) {
  // A positive maximum gives a negative d: 2 → d = −0.25, id = −4.
  std::vector<float> x(32, 0.0f);
  x[5] = 2.0f;    // q 0
  x[6] = -2.0f;   // q 16 → clamped 15
  x[20] = 0.5f;   // q 6, high nibble of qs[4]
  block_q4_0 b = quantized<block_q4_0>(TensorType::q4_0, x);
  EXPECT_EQ(b.d, 0xb400);
  EXPECT_EQ(b.qs[4], 0x68);
  EXPECT_EQ(b.qs[5], 0x80);
  EXPECT_EQ(b.qs[6], 0x8f);

  // Equal magnitudes: the first one sets the sign, −3 → d = 0.375.
  std::fill(x.begin(), x.end(), 0.0f);
  x[0] = -3.0f;
  x[1] = 3.0f;
  b = quantized<block_q4_0>(TensorType::q4_0, x);
  EXPECT_EQ(b.d, 0x3600);
  EXPECT_EQ(b.qs[0], 0x80);
  EXPECT_EQ(b.qs[1], 0x8f);
}

TEST(QuantQ4_0, ZeroBlock) {
  const block_q4_0 b = quantized<block_q4_0>(TensorType::q4_0, std::vector<float>(32, 0.0f));
  EXPECT_EQ(b.d, 0x8000);  // ggml's d = 0 / −8 is −0
  for (uint8_t q : b.qs) EXPECT_EQ(q, 0x88);
}

// Blocks of uniform values in ±2^-6 .. ±2^6, each block with its own range.
std::vector<float> random_row(uint32_t seed, size_t n) {
  std::mt19937 rng(seed);
  std::vector<float> x(n);
  float range = 1.0f;
  for (size_t i = 0; i < n; ++i) {
    if (i % 32 == 0) range = std::ldexp(1.0f, int(rng() % 13) - 6);
    x[i] = range * (float(rng() >> 8) / (1 << 23) - 1.0f);
  }
  return x;
}

TEST(QuantQ8_0, RoundTripWithinHalfAStep) {
  const std::vector<float> x = random_row(7, 32 * 256);
  std::vector<block_q8_0> blocks(x.size() / 32);
  quantize_row(TensorType::q8_0, x.data(), blocks.data(), x.size());
  const std::vector<float> y = dequantized(TensorType::q8_0, blocks.data(), x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    const float d = fp16_to_fp32(blocks[i / 32].d);
    const float fp16_error = 127 * d / 2048;  // d is stored rounded to fp16
    ASSERT_LE(std::fabs(x[i] - y[i]), d / 2 + fp16_error) << i;
  }
}

TEST(QuantQ4_0, RoundTripWithinAStep) {
  const std::vector<float> x = random_row(8, 32 * 256);
  std::vector<block_q4_0> blocks(x.size() / 32);
  quantize_row(TensorType::q4_0, x.data(), blocks.data(), x.size());
  const std::vector<float> y = dequantized(TensorType::q4_0, blocks.data(), x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    const float d = std::fabs(fp16_to_fp32(blocks[i / 32].d));
    const float fp16_error = 8 * d / 2048;  // d is stored rounded to fp16
    ASSERT_LE(std::fabs(x[i] - y[i]), d + fp16_error) << i;
  }
}

TEST(QuantRows, HalfRowsConvertEachValue) {
  const std::vector<float> x = random_row(9, 256);
  std::vector<uint16_t> f16(x.size()), bf16(x.size());
  std::vector<float> f32(x.size());
  quantize_row(TensorType::f16, x.data(), f16.data(), x.size());
  quantize_row(TensorType::bf16, x.data(), bf16.data(), x.size());
  quantize_row(TensorType::f32, x.data(), f32.data(), x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    EXPECT_EQ(f16[i], fp32_to_fp16(x[i]));
    EXPECT_EQ(bf16[i], fp32_to_bf16(x[i]));
  }
  expect_same_floats(f32, x);
}

TEST(QuantRows, RejectsKQuantsAndPartialBlocks) {
  std::vector<float> x(512, 1.0f);
  std::vector<unsigned char> out(4096);
  EXPECT_THROW(quantize_row(TensorType::q4_k, x.data(), out.data(), 256), std::invalid_argument);
  EXPECT_THROW(quantize_row(TensorType::q5_k, x.data(), out.data(), 256), std::invalid_argument);
  EXPECT_THROW(quantize_row(TensorType::q6_k, x.data(), out.data(), 256), std::invalid_argument);
  EXPECT_THROW(quantize_row(TensorType::q4_0, x.data(), out.data(), 33), std::invalid_argument);
  EXPECT_THROW(dequantize_row(TensorType::q6_k, out.data(), x.data(), 255), std::invalid_argument);
}

TEST(QuantBlocks, LayoutsMatchTensorTypes) {
  EXPECT_EQ(sizeof(block_q4_0), info(TensorType::q4_0).block_bytes);
  EXPECT_EQ(sizeof(block_q8_0), info(TensorType::q8_0).block_bytes);
  EXPECT_EQ(sizeof(block_q4_K), info(TensorType::q4_k).block_bytes);
  EXPECT_EQ(sizeof(block_q5_K), info(TensorType::q5_k).block_bytes);
  EXPECT_EQ(sizeof(block_q6_K), info(TensorType::q6_k).block_bytes);
  EXPECT_EQ(kQK4_0, info(TensorType::q4_0).block_elements);
  EXPECT_EQ(kQK8_0, info(TensorType::q8_0).block_elements);
  EXPECT_EQ(kQK_K, info(TensorType::q4_k).block_elements);
  EXPECT_EQ(kQK_K, info(TensorType::q6_k).block_elements);
}

}  // namespace
}  // namespace rs::model
