#include "core/model/quantize.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>

#include "core/model/half.h"

// Each kernel follows its ggml-quants.c namesake statement for statement:
// the order of float operations is part of the bit-exact result.

namespace rs::model {

ScaleMin scale_min_k4(const uint8_t* scales, int j) {
  if (j < 4) return {uint8_t(scales[j] & 63), uint8_t(scales[j + 4] & 63)};
  // Sub-blocks 4..7 keep their low 4 bits in bytes 8..11 and their top 2 bits
  // in the spare top bits of bytes 0..7.
  return {uint8_t((scales[j + 4] & 0xf) | ((scales[j - 4] >> 6) << 4)),
          uint8_t((scales[j + 4] >> 4) | ((scales[j] >> 6) << 4))};
}

namespace {

void dequantize_q4_0(const block_q4_0* x, float* y, size_t blocks) {
  for (size_t i = 0; i < blocks; ++i, y += kQK4_0) {
    const float d = fp16_to_fp32(x[i].d);
    for (size_t j = 0; j < kQK4_0 / 2; ++j) {
      y[j] = ((x[i].qs[j] & 0xf) - 8) * d;
      y[j + kQK4_0 / 2] = ((x[i].qs[j] >> 4) - 8) * d;
    }
  }
}

void dequantize_q8_0(const block_q8_0* x, float* y, size_t blocks) {
  for (size_t i = 0; i < blocks; ++i, y += kQK8_0) {
    const float d = fp16_to_fp32(x[i].d);
    for (size_t j = 0; j < kQK8_0; ++j) y[j] = x[i].qs[j] * d;
  }
}

void dequantize_q4_K(const block_q4_K* x, float* y, size_t blocks) {
  for (size_t i = 0; i < blocks; ++i) {
    const float d = fp16_to_fp32(x[i].d);
    const float dmin = fp16_to_fp32(x[i].dmin);
    const uint8_t* q = x[i].qs;
    for (int is = 0; is < 8; is += 2, q += 32) {
      const ScaleMin lo = scale_min_k4(x[i].scales, is);
      const ScaleMin hi = scale_min_k4(x[i].scales, is + 1);
      const float d1 = d * lo.scale, m1 = dmin * lo.min;
      const float d2 = d * hi.scale, m2 = dmin * hi.min;
      for (int l = 0; l < 32; ++l) *y++ = d1 * (q[l] & 0xf) - m1;
      for (int l = 0; l < 32; ++l) *y++ = d2 * (q[l] >> 4) - m2;
    }
  }
}

void dequantize_q5_K(const block_q5_K* x, float* y, size_t blocks) {
  for (size_t i = 0; i < blocks; ++i) {
    const float d = fp16_to_fp32(x[i].d);
    const float dmin = fp16_to_fp32(x[i].dmin);
    const uint8_t* ql = x[i].qs;
    const uint8_t* qh = x[i].qh;
    uint8_t u1 = 1, u2 = 2;  // this 64-value chunk's two bits in qh
    for (int is = 0; is < 8; is += 2, ql += 32, u1 <<= 2, u2 <<= 2) {
      const ScaleMin lo = scale_min_k4(x[i].scales, is);
      const ScaleMin hi = scale_min_k4(x[i].scales, is + 1);
      const float d1 = d * lo.scale, m1 = dmin * lo.min;
      const float d2 = d * hi.scale, m2 = dmin * hi.min;
      for (int l = 0; l < 32; ++l) *y++ = d1 * ((ql[l] & 0xf) + (qh[l] & u1 ? 16 : 0)) - m1;
      for (int l = 0; l < 32; ++l) *y++ = d2 * ((ql[l] >> 4) + (qh[l] & u2 ? 16 : 0)) - m2;
    }
  }
}

void dequantize_q6_K(const block_q6_K* x, float* y, size_t blocks) {
  for (size_t i = 0; i < blocks; ++i) {
    const float d = fp16_to_fp32(x[i].d);
    const uint8_t* ql = x[i].ql;
    const uint8_t* qh = x[i].qh;
    const int8_t* sc = x[i].scales;
    for (size_t half = 0; half < kQK_K / 128; ++half, y += 128, ql += 64, qh += 32, sc += 8) {
      for (int l = 0; l < 32; ++l) {
        const int is = l / 16;
        const int q1 = ((ql[l] & 0xf) | (((qh[l] >> 0) & 3) << 4)) - 32;
        const int q2 = ((ql[l + 32] & 0xf) | (((qh[l] >> 2) & 3) << 4)) - 32;
        const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
        const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
        y[l] = d * sc[is] * q1;
        y[l + 32] = d * sc[is + 2] * q2;
        y[l + 64] = d * sc[is + 4] * q3;
        y[l + 96] = d * sc[is + 6] * q4;
      }
    }
  }
}

void quantize_q8_0(const float* x, block_q8_0* y, size_t blocks) {
  for (size_t i = 0; i < blocks; ++i, x += kQK8_0) {
    float amax = 0.0f;
    for (size_t j = 0; j < kQK8_0; ++j) {
      const float a = std::fabs(x[j]);
      amax = amax > a ? amax : a;  // ggml's MAX(): a NaN input propagates
    }
    const float d = amax / 127;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;  // from the fp32 d, not the stored fp16 one
    y[i].d = fp32_to_fp16(d);
    for (size_t j = 0; j < kQK8_0; ++j) y[i].qs[j] = int8_t(std::round(x[j] * id));
  }
}

void quantize_q4_0(const float* x, block_q4_0* y, size_t blocks) {
  for (size_t i = 0; i < blocks; ++i, x += kQK4_0) {
    float amax = 0.0f;
    float max = 0.0f;  // the first value of largest magnitude, with its sign
    for (size_t j = 0; j < kQK4_0; ++j) {
      if (amax < std::fabs(x[j])) {
        amax = std::fabs(x[j]);
        max = x[j];
      }
    }
    const float d = max / -8;  // max maps to q = 0; its negation to 16, clamped to 15
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[i].d = fp32_to_fp16(d);
    for (size_t j = 0; j < kQK4_0 / 2; ++j) {
      // +8.5 then truncation: round half up around the zero point 8.
      const int q0 = std::min(15, int(x[j] * id + 8.5f));
      const int q1 = std::min(15, int(x[j + kQK4_0 / 2] * id + 8.5f));
      y[i].qs[j] = uint8_t(q0 | (q1 << 4));
    }
  }
}

size_t whole_blocks(TensorType type, size_t n) {
  const TensorTypeInfo& t = info(type);
  if (n % t.block_elements != 0) {
    throw std::invalid_argument(std::to_string(n) + " values are not whole " +
                                std::string(t.name) + " blocks");
  }
  return n / t.block_elements;
}

}  // namespace

void dequantize_row(TensorType type, const void* src, float* dst, size_t n) {
  const size_t blocks = whole_blocks(type, n);
  switch (type) {
    case TensorType::f32:
      std::memcpy(dst, src, n * sizeof(float));
      return;
    case TensorType::f16:
      for (size_t i = 0; i < n; ++i) dst[i] = fp16_to_fp32(static_cast<const uint16_t*>(src)[i]);
      return;
    case TensorType::bf16:
      for (size_t i = 0; i < n; ++i) dst[i] = bf16_to_fp32(static_cast<const uint16_t*>(src)[i]);
      return;
    case TensorType::q4_0: return dequantize_q4_0(static_cast<const block_q4_0*>(src), dst, blocks);
    case TensorType::q8_0: return dequantize_q8_0(static_cast<const block_q8_0*>(src), dst, blocks);
    case TensorType::q4_k: return dequantize_q4_K(static_cast<const block_q4_K*>(src), dst, blocks);
    case TensorType::q5_k: return dequantize_q5_K(static_cast<const block_q5_K*>(src), dst, blocks);
    case TensorType::q6_k: return dequantize_q6_K(static_cast<const block_q6_K*>(src), dst, blocks);
  }
  throw std::invalid_argument("dequantize_row: unknown tensor type");
}

void quantize_row(TensorType type, const float* src, void* dst, size_t n) {
  const size_t blocks = whole_blocks(type, n);
  switch (type) {
    case TensorType::f32:
      std::memcpy(dst, src, n * sizeof(float));
      return;
    case TensorType::f16:
      for (size_t i = 0; i < n; ++i) static_cast<uint16_t*>(dst)[i] = fp32_to_fp16(src[i]);
      return;
    case TensorType::bf16:
      for (size_t i = 0; i < n; ++i) static_cast<uint16_t*>(dst)[i] = fp32_to_bf16(src[i]);
      return;
    case TensorType::q4_0: return quantize_q4_0(src, static_cast<block_q4_0*>(dst), blocks);
    case TensorType::q8_0: return quantize_q8_0(src, static_cast<block_q8_0*>(dst), blocks);
    case TensorType::q4_k:
    case TensorType::q5_k:
    case TensorType::q6_k:
      break;
  }
  throw std::invalid_argument("quantize_row: no quantizer for " + std::string(info(type).name));
}

}  // namespace rs::model
