// Activations::prepare: float rows quantized to 8 bits as ggml's
// quantize_row_q8_0_ref and quantize_row_q8_K_ref do, value for value.
#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>

#include "core/kernels/activations.h"
#include "core/model/half.h"
#include "core/model/quantize.h"

// clang-format off
#include "core/kernels/simd.h"
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "core/kernels/activations.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
// clang-format on

HWY_BEFORE_NAMESPACE();
namespace rs::kernels {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// roundf() exactly: to nearest, halves away from zero.
template <class D, class V>
V RoundHalfAway(D d, V v) {
  const V whole = hn::Trunc(v);
  const auto round_up = hn::Ge(hn::Abs(hn::Sub(v, whole)), hn::Set(d, 0.5f));
  return hn::Add(whole, hn::IfThenElseZero(round_up, hn::CopySign(hn::Set(d, 1.0f), v)));
}

// One row of `cols` values as q8_0 blocks in ActivationGroups: d = amax / 127,
// kept as the fp16 ggml stores, and q = round(x / d) (divided by the fp32 d, as
// ggml does). The groups are zeros past the last block.
void QuantizeQ8_0(const float* x, size_t cols, ActivationGroup* groups) {
  constexpr size_t kBlock = model::kQK8_0;
  const hn::ScalableTag<float> df;
  const hn::RebindToSigned<decltype(df)> di;
  const hn::Rebind<int8_t, decltype(df)> d8;
  const size_t n = hn::Lanes(df), blocks = cols / kBlock;
  if (blocks % kGroupBlocks != 0) groups[blocks / kGroupBlocks] = ActivationGroup{};
  for (size_t b = 0; b < blocks; ++b, x += kBlock) {
    ActivationGroup& g = groups[b / kGroupBlocks];
    const size_t j = b % kGroupBlocks;
    auto amax = hn::Zero(df);
    for (size_t i = 0; i < kBlock; i += n) amax = hn::Max(amax, hn::Abs(hn::LoadU(df, x + i)));
    const float d = hn::GetLane(hn::MaxOfLanes(df, amax)) / 127;
    const auto id = hn::Set(df, d != 0.0f ? 1.0f / d : 0.0f);
    auto sum = hn::Zero(di);
    int8_t q[kBlock];
    for (size_t i = 0; i < kBlock; i += n) {
      const auto qi = hn::ConvertTo(di, RoundHalfAway(df, hn::Mul(hn::LoadU(df, x + i), id)));
      sum = hn::Add(sum, qi);
      hn::StoreU(hn::DemoteTo(d8, qi), d8, q + i);
    }
    for (size_t k = 0; k < kGroupVectors; ++k) std::memcpy(&g.values[k][4 * j], q + 4 * k, 4);
    g.scales[j] = model::fp16_to_fp32(model::fp32_to_fp16(d));
    g.sums[j] = hn::GetLane(hn::SumOfLanes(di, sum));
  }
}

// One row as q8_K blocks of 256: the value of largest magnitude (the first, if
// tied) maps to −127, q = nearest-even(x · −127 / max) capped at 127 and
// d = 1 / (−127 / max); scale and sum per sub-block of `sub` values.
void QuantizeQ8K(const float* x, size_t cols, size_t sub, int8_t* q, float* scales, float* sums) {
  constexpr size_t kBlock = model::kQK_K;
  const hn::ScalableTag<float> df;
  const hn::RebindToSigned<decltype(df)> di;
  const hn::Rebind<int8_t, decltype(df)> d8;
  const size_t n = hn::Lanes(df), subs = kBlock / sub;
  for (size_t b = 0; b < cols / kBlock; ++b, x += kBlock, q += kBlock, scales += subs, sums += subs) {
    auto amax_v = hn::Zero(df);
    for (size_t i = 0; i < kBlock; i += n) amax_v = hn::Max(amax_v, hn::Abs(hn::LoadU(df, x + i)));
    const float amax = hn::GetLane(hn::MaxOfLanes(df, amax_v));
    if (amax == 0.0f) {
      std::memset(q, 0, kBlock);
      std::fill_n(scales, subs, 0.0f);
      std::fill_n(sums, subs, 0.0f);
      continue;
    }
    float max = 0.0f;
    for (size_t i = 0; i < kBlock; i += n) {
      const intptr_t first = hn::FindFirstTrue(df, hn::Eq(hn::Abs(hn::LoadU(df, x + i)), hn::Set(df, amax)));
      if (first >= 0) {
        max = x[i + size_t(first)];
        break;
      }
    }
    const float iscale = -127.0f / max;
    const float d = 1 / iscale;
    for (size_t s = 0; s < subs; ++s) {
      auto sum = hn::Zero(di);
      for (size_t i = s * sub; i < (s + 1) * sub; i += n) {
        const auto qi = hn::Min(hn::NearestInt(hn::Mul(hn::LoadU(df, x + i), hn::Set(df, iscale))), hn::Set(di, 127));
        sum = hn::Add(sum, qi);
        hn::StoreU(hn::DemoteTo(d8, qi), d8, q + i);
      }
      scales[s] = d;
      sums[s] = d * float(hn::GetLane(hn::SumOfLanes(di, sum)));
    }
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace rs::kernels
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace rs::kernels {

HWY_EXPORT(QuantizeQ8_0);
HWY_EXPORT(QuantizeQ8K);

size_t sub_block_values(model::TensorType weight_type) {
  switch (weight_type) {
    case model::TensorType::q4_0:
    case model::TensorType::q8_0:
    case model::TensorType::q4_k:
    case model::TensorType::q5_k:
      return 32;
    case model::TensorType::q6_k:
      return 16;
    default:
      return 0;
  }
}

void Activations::prepare(model::TensorType weight_type, const float* x, size_t n_tokens, size_t cols) {
  const uint32_t block = model::info(weight_type).block_elements;
  if (cols % block != 0) {
    throw std::invalid_argument("Activations: " + std::to_string(cols) + " columns are not whole " +
                                std::string(model::info(weight_type).name) + " blocks");
  }
  weight_type_ = weight_type;
  n_tokens_ = n_tokens;
  cols_ = cols;
  sub_block_ = sub_block_values(weight_type);
  f32_ = sub_block_ == 0 ? x : nullptr;  // float weights read x itself
  if (interleaved_type(weight_type)) {
    groups_ = round_up(cols / block, kGroupBlocks) / kGroupBlocks;
    const size_t lines = n_tokens * groups_ * sizeof(ActivationGroup) / sizeof(Line);
    if (memory_.size() < lines) memory_.resize(lines);
    auto* groups = reinterpret_cast<ActivationGroup*>(memory_.data());
    for (size_t t = 0; t < n_tokens; ++t) HWY_DYNAMIC_DISPATCH(QuantizeQ8_0)(x + t * cols, cols, groups + t * groups_);
    return;
  }
  if (sub_block_ == 0) return;
  padded_cols_ = round_up(cols, kVectorBytes);
  sums_stride_ = sub_block_stride(padded_cols_, sub_block_);
  const size_t value_bytes = n_tokens * padded_cols_;  // a multiple of kVectorBytes, as are the strides
  scales_ = value_bytes / sizeof(float);
  sums_ = scales_ + n_tokens * sums_stride_;
  const size_t bytes = (sums_ + n_tokens * sums_stride_) * sizeof(float);
  if (memory_.size() * sizeof(Line) < bytes) memory_.resize(round_up(bytes, sizeof(Line)) / sizeof(Line));

  auto* base = reinterpret_cast<std::byte*>(memory_.data());
  for (size_t t = 0; t < n_tokens; ++t) {
    auto* values = reinterpret_cast<int8_t*>(base) + t * padded_cols_;
    float* scales = reinterpret_cast<float*>(base) + scales_ + t * sums_stride_;
    float* sums = reinterpret_cast<float*>(base) + sums_ + t * sums_stride_;
    HWY_DYNAMIC_DISPATCH(QuantizeQ8K)(x + t * cols, cols, sub_block_, values, scales, sums);
    // Zero padding: the kernels read whole vectors past the last value and sub-block.
    std::memset(values + cols, 0, padded_cols_ - cols);
    std::fill(scales + cols / sub_block_, scales + sums_stride_, 0.0f);
    std::fill(sums + cols / sub_block_, sums + sums_stride_, 0.0f);
  }
}

int Activations::q8_value(size_t t, size_t i) const {
  if (interleaved_type(weight_type_)) {
    const size_t b = i / model::kQK8_0, v = i % model::kQK8_0;
    return group(t, b / kGroupBlocks)->values[v / 4][4 * (b % kGroupBlocks) + v % 4];
  }
  return q8_row(t)[i];
}

float Activations::q8_scale(size_t t, size_t i) const {
  if (interleaved_type(weight_type_)) {
    const size_t b = i / model::kQK8_0;
    return group(t, b / kGroupBlocks)->scales[b % kGroupBlocks];
  }
  return q8_scales(t)[i / sub_block_];
}

}  // namespace rs::kernels
#endif  // HWY_ONCE
