// The per-row operations in SIMD, each within a few ulp of the scalar
// definition: sums of many terms are taken in double, exp is Highway's (1 ulp).
#include "core/kernels/ops.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "core/model/half.h"
#include "core/model/quantize.h"

// clang-format off
#include "core/kernels/simd.h"
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "core/kernels/ops.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "hwy/contrib/math/math-inl.h"
#include "core/kernels/simd-inl.h"
// clang-format on

HWY_BEFORE_NAMESPACE();
namespace rs::kernels {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Floats widened to double as many at a time as a vector of doubles holds.
using DoubleTag = hn::ScalableTag<double>;
using HalfFloatTag = hn::Rebind<float, DoubleTag>;

// Σ x[i]² in double.
double SumOfSquares(const float* x, size_t n) {
  const DoubleTag dd;
  const HalfFloatTag df;
  const size_t lanes = hn::Lanes(df);
  auto acc = hn::Zero(dd);
  size_t i = 0;
  for (; i + lanes <= n; i += lanes) {
    const auto v = hn::PromoteTo(dd, hn::LoadU(df, x + i));
    acc = hn::MulAdd(v, v, acc);
  }
  double sum = hn::GetLane(hn::SumOfLanes(dd, acc));
  for (; i < n; ++i) sum += double(x[i]) * x[i];
  return sum;
}

// Σ x[i] in double.
double Sum(const float* x, size_t n) {
  const DoubleTag dd;
  const HalfFloatTag df;
  const size_t lanes = hn::Lanes(df);
  auto acc = hn::Zero(dd);
  size_t i = 0;
  for (; i + lanes <= n; i += lanes) acc = hn::Add(acc, hn::PromoteTo(dd, hn::LoadU(df, x + i)));
  double sum = hn::GetLane(hn::SumOfLanes(dd, acc));
  for (; i < n; ++i) sum += x[i];
  return sum;
}

void RmsNorm(const float* x, const float* weight, float eps, size_t n, float* out) {
  const float scale = float(1.0 / std::sqrt(SumOfSquares(x, n) / double(n) + eps));
  const hn::ScalableTag<float> df;
  const size_t lanes = hn::Lanes(df);
  size_t i = 0;
  for (; i + lanes <= n; i += lanes) {
    const auto v = hn::Mul(hn::LoadU(df, x + i), hn::Set(df, scale));
    hn::StoreU(hn::Mul(v, hn::LoadU(df, weight + i)), df, out + i);
  }
  for (; i < n; ++i) out[i] = x[i] * scale * weight[i];
}

// Mean and variance summed in double (ggml_norm sums in ggml_float, a double), in two passes for the variance.
void LayerNorm(const float* x, const float* weight, const float* bias, float eps, size_t n, float* out) {
  const double mean = Sum(x, n) / double(n);
  const hn::ScalableTag<float> df;
  const size_t lanes = hn::Lanes(df);
  const DoubleTag dd;
  const HalfFloatTag dh;
  const size_t double_lanes = hn::Lanes(dh);
  auto acc = hn::Zero(dd);
  size_t i = 0;
  for (; i + double_lanes <= n; i += double_lanes) {
    const auto centered = hn::Sub(hn::PromoteTo(dd, hn::LoadU(dh, x + i)), hn::Set(dd, mean));
    acc = hn::MulAdd(centered, centered, acc);
  }
  double variance = hn::GetLane(hn::SumOfLanes(dd, acc));
  for (; i < n; ++i) variance += (x[i] - mean) * (x[i] - mean);
  variance /= double(n);
  const float scale = float(1.0 / std::sqrt(variance + eps));
  const float shift = float(mean);
  i = 0;
  for (; i + lanes <= n; i += lanes) {
    const auto v = hn::Mul(hn::Sub(hn::LoadU(df, x + i), hn::Set(df, shift)), hn::Set(df, scale));
    hn::StoreU(hn::MulAdd(v, hn::LoadU(df, weight + i), hn::LoadU(df, bias + i)), df, out + i);
  }
  for (; i < n; ++i) out[i] = (x[i] - shift) * scale * weight[i] + bias[i];
}

// 0.5 · x · (1 + tanh(sqrt(2/π) · (x + 0.044715 · x³))), ggml's constants.
constexpr float kGeluCoefA = 0.044715f;
constexpr float kSqrt2OverPi = 0.79788456080286535587989211986876f;

template <class D, class V>
V Gelu(D d, V x) {
  const V one_plus_ax2 = hn::MulAdd(hn::Mul(hn::Set(d, kGeluCoefA), x), x, hn::Set(d, 1.0f));
  const V inner = hn::Mul(hn::Mul(hn::Set(d, kSqrt2OverPi), x), one_plus_ax2);
  return hn::Mul(hn::Mul(hn::Set(d, 0.5f), x), hn::Add(hn::Set(d, 1.0f), hn::Tanh(d, inner)));
}

void GeluRow(float* x, size_t n) {
  const hn::ScalableTag<float> df;
  const size_t lanes = hn::Lanes(df);
  size_t i = 0;
  for (; i + lanes <= n; i += lanes) hn::StoreU(Gelu(df, hn::LoadU(df, x + i)), df, x + i);
  for (; i < n; ++i) x[i] = 0.5f * x[i] * (1.0f + std::tanh(kSqrt2OverPi * x[i] * (1.0f + kGeluCoefA * x[i] * x[i])));
}

// silu(g) · u = g / (1 + e^−g) · u, e^−g capped below float's overflow (and
// Highway's range): silu(g) is then |g| · e^−88 or less, zero to 1e-36.
template <class D, class V>
V SwiGlu(D d, V g, V u) {
  const V e = hn::Exp(d, hn::Min(hn::Neg(g), hn::Set(d, 88.0f)));
  return hn::Mul(hn::Div(g, hn::Add(hn::Set(d, 1.0f), e)), u);
}

void SwiGluRow(float* gate, const float* up, size_t n) {
  const hn::ScalableTag<float> df;
  const size_t lanes = hn::Lanes(df);
  size_t i = 0;
  for (; i + lanes <= n; i += lanes)
    hn::StoreU(SwiGlu(df, hn::LoadU(df, gate + i), hn::LoadU(df, up + i)), df, gate + i);
  for (; i < n; ++i) gate[i] = gate[i] / (1.0f + std::exp(std::min(-gate[i], 88.0f))) * up[i];
}

void AddRow(float* x, const float* y, size_t n) {
  const hn::ScalableTag<float> df;
  const size_t lanes = hn::Lanes(df);
  size_t i = 0;
  for (; i + lanes <= n; i += lanes) hn::StoreU(hn::Add(hn::LoadU(df, x + i), hn::LoadU(df, y + i)), df, x + i);
  for (; i < n; ++i) x[i] += y[i];
}

void Softmax(float* x, size_t n) {
  const hn::ScalableTag<float> df;
  const size_t lanes = hn::Lanes(df);
  float max = *std::max_element(x, x + n);
  size_t i = 0;
  for (; i + lanes <= n; i += lanes) {
    hn::StoreU(hn::Exp(df, hn::Sub(hn::LoadU(df, x + i), hn::Set(df, max))), df, x + i);
  }
  for (; i < n; ++i) x[i] = std::exp(x[i] - max);
  const float inverse = float(1.0 / Sum(x, n));
  i = 0;
  for (; i + lanes <= n; i += lanes) hn::StoreU(hn::Mul(hn::LoadU(df, x + i), hn::Set(df, inverse)), df, x + i);
  for (; i < n; ++i) x[i] *= inverse;
}

// A KV row's values as f32 vectors: f32, f16, or a q8_0 block's int8 (its
// scale is applied per block by the caller).
template <class DF>
hn::Vec<DF> LoadF32(DF df, const float* p) {
  return hn::LoadU(df, p);
}
template <class DF>
hn::Vec<DF> LoadF16(DF df, const uint16_t* p) {
  return hn::PromoteTo(df, hn::LoadU(hn::Rebind<hwy::float16_t, DF>(), reinterpret_cast<const hwy::float16_t*>(p)));
}
template <class DF>
hn::Vec<DF> LoadQ8(DF df, const int8_t* p) {
  const hn::RebindToSigned<DF> di;
  return hn::ConvertTo(df, hn::PromoteTo(di, hn::LoadU(hn::Rebind<int8_t, DF>(), p)));
}

float DotKvRow(model::TensorType type, const float* q, const std::byte* k_row, size_t n) {
  const hn::ScalableTag<float> df;
  const size_t lanes = hn::Lanes(df);
  auto acc = hn::Zero(df);
  float tail = 0.0f;
  if (type == model::TensorType::q8_0) {
    const auto* blocks = reinterpret_cast<const model::block_q8_0*>(k_row);
    for (size_t b = 0; b < n / model::kQK8_0; ++b, q += model::kQK8_0) {
      auto block = hn::Zero(df);
      for (size_t i = 0; i < model::kQK8_0; i += lanes)
        block = hn::MulAdd(hn::LoadU(df, q + i), LoadQ8(df, blocks[b].qs + i), block);
      acc = hn::MulAdd(block, hn::Set(df, F16ToF32(blocks[b].d)), acc);
    }
  } else if (type == model::TensorType::f16) {
    const auto* k = reinterpret_cast<const uint16_t*>(k_row);
    size_t i = 0;
    for (; i + lanes <= n; i += lanes) acc = hn::MulAdd(hn::LoadU(df, q + i), LoadF16(df, k + i), acc);
    for (; i < n; ++i) tail += q[i] * model::fp16_to_fp32(k[i]);
  } else {
    const auto* k = reinterpret_cast<const float*>(k_row);
    size_t i = 0;
    for (; i + lanes <= n; i += lanes) acc = hn::MulAdd(hn::LoadU(df, q + i), LoadF32(df, k + i), acc);
    for (; i < n; ++i) tail += q[i] * k[i];
  }
  return hn::GetLane(hn::SumOfLanes(df, acc)) + tail;
}

void DotKvRows(model::TensorType type, const float* q, const std::byte* k_rows, size_t row_bytes, size_t rows,
               size_t n, float scale, float* scores) {
  for (size_t i = 0; i < rows; ++i) scores[i] = DotKvRow(type, q, k_rows + i * row_bytes, n) * scale;
}

void AxpyKvRow(model::TensorType type, float s, const std::byte* v_row, float* y, size_t n) {
  const hn::ScalableTag<float> df;
  const size_t lanes = hn::Lanes(df);
  if (type == model::TensorType::q8_0) {
    const auto* blocks = reinterpret_cast<const model::block_q8_0*>(v_row);
    for (size_t b = 0; b < n / model::kQK8_0; ++b, y += model::kQK8_0) {
      const auto sd = hn::Set(df, s * F16ToF32(blocks[b].d));
      for (size_t i = 0; i < model::kQK8_0; i += lanes) {
        hn::StoreU(hn::MulAdd(sd, LoadQ8(df, blocks[b].qs + i), hn::LoadU(df, y + i)), df, y + i);
      }
    }
  } else if (type == model::TensorType::f16) {
    const auto* v = reinterpret_cast<const uint16_t*>(v_row);
    size_t i = 0;
    for (; i + lanes <= n; i += lanes)
      hn::StoreU(hn::MulAdd(hn::Set(df, s), LoadF16(df, v + i), hn::LoadU(df, y + i)), df, y + i);
    for (; i < n; ++i) y[i] += s * model::fp16_to_fp32(v[i]);
  } else {
    const auto* v = reinterpret_cast<const float*>(v_row);
    size_t i = 0;
    for (; i + lanes <= n; i += lanes)
      hn::StoreU(hn::MulAdd(hn::Set(df, s), LoadF32(df, v + i), hn::LoadU(df, y + i)), df, y + i);
    for (; i < n; ++i) y[i] += s * v[i];
  }
}

void AxpyKvRows(model::TensorType type, const float* scores, const std::byte* v_rows, size_t row_bytes, size_t rows,
                float* y, size_t n) {
  for (size_t i = 0; i < rows; ++i) AxpyKvRow(type, scores[i], v_rows + i * row_bytes, y, n);
}

}  // namespace HWY_NAMESPACE
}  // namespace rs::kernels
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace rs::kernels {

HWY_EXPORT(RmsNorm);
HWY_EXPORT(LayerNorm);
HWY_EXPORT(GeluRow);
HWY_EXPORT(SwiGluRow);
HWY_EXPORT(AddRow);
HWY_EXPORT(Softmax);
HWY_EXPORT(DotKvRows);
HWY_EXPORT(AxpyKvRows);

namespace {

void check_kv(model::TensorType type, size_t n, const char* op) {
  if (type != model::TensorType::f32 && type != model::TensorType::f16 && type != model::TensorType::q8_0) {
    throw std::invalid_argument(std::string(op) + ": KV rows are f32, f16 or q8_0, not " +
                                std::string(model::info(type).name));
  }
  if (type == model::TensorType::q8_0 && n % model::kQK8_0 != 0) {
    throw std::invalid_argument(std::string(op) + ": q8_0 rows need a multiple of 32 values, not " + std::to_string(n));
  }
}

}  // namespace

void rms_norm(const float* x, const float* weight, float eps, size_t n, float* out) {
  HWY_DYNAMIC_DISPATCH(RmsNorm)(x, weight, eps, n, out);
}

void layer_norm(const float* x, const float* weight, const float* bias, float eps, size_t n, float* out) {
  HWY_DYNAMIC_DISPATCH(LayerNorm)(x, weight, bias, eps, n, out);
}

void gelu(float* x, size_t n) { HWY_DYNAMIC_DISPATCH(GeluRow)(x, n); }

void rope(float* head, size_t head_dim, uint32_t position, const float* inv_freq, bool adjacent_pairs) {
  const size_t half = head_dim / 2;
  for (size_t i = 0; i < half; ++i) {
    const float angle = float(position) * inv_freq[i];
    const float c = std::cos(angle), s = std::sin(angle);
    float& a = adjacent_pairs ? head[2 * i] : head[i];
    float& b = adjacent_pairs ? head[2 * i + 1] : head[i + half];
    const float a0 = a, b0 = b;
    a = a0 * c - b0 * s;
    b = a0 * s + b0 * c;
  }
}

void swiglu(float* gate, const float* up, size_t n) { HWY_DYNAMIC_DISPATCH(SwiGluRow)(gate, up, n); }

void add(float* x, const float* y, size_t n) { HWY_DYNAMIC_DISPATCH(AddRow)(x, y, n); }

void softmax(float* x, size_t n) {
  if (n > 0) HWY_DYNAMIC_DISPATCH(Softmax)(x, n);
}

void store_kv_row(model::TensorType type, const float* x, std::byte* row, size_t n) {
  model::quantize_row(type, x, row, n);
}

void dot_kv_rows(model::TensorType type, const float* q, const std::byte* k_rows, size_t row_bytes, size_t rows,
                 size_t n, float scale, float* scores) {
  check_kv(type, n, "dot_kv_rows");
  HWY_DYNAMIC_DISPATCH(DotKvRows)(type, q, k_rows, row_bytes, rows, n, scale, scores);
}

void axpy_kv_rows(model::TensorType type, const float* scores, const std::byte* v_rows, size_t row_bytes, size_t rows,
                  float* y, size_t n) {
  check_kv(type, n, "axpy_kv_rows");
  HWY_DYNAMIC_DISPATCH(AxpyKvRows)(type, scores, v_rows, row_bytes, rows, y, n);
}

}  // namespace rs::kernels
#endif  // HWY_ONCE
