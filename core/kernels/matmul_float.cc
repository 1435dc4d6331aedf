// f32, f16 and bf16 weights times f32 activations: weights widened to f32 as
// they are loaded (F16C's vcvtph2ps for f16), fused multiply-adds in a
// register block of rows × tokens; the last cols % lanes values one at a time.
#include <algorithm>
#include <array>
#include <utility>

#include "core/kernels/matmul_kernels.h"
#include "core/model/half.h"

// clang-format off
#include "core/kernels/simd.h"
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "core/kernels/matmul_float.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "hwy/cache_control.h"
#include "core/kernels/simd-inl.h"
// clang-format on

HWY_BEFORE_NAMESPACE();
namespace rs::kernels {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// One weight type's loads: a vector of f32, and one value for the tail.
struct F32 {
  using T = float;
  template <class DF>
  static hn::Vec<DF> Load(DF df, const T* p) {
    return hn::LoadU(df, p);
  }
  static float Value(T v) { return v; }
};

struct F16 {
  using T = hwy::float16_t;
  template <class DF>
  static hn::Vec<DF> Load(DF df, const T* p) {
    return hn::PromoteTo(df, hn::LoadU(hn::Rebind<T, DF>(), p));
  }
  static float Value(T v) { return model::fp16_to_fp32(v.bits); }
};

struct BF16 {
  using T = hwy::bfloat16_t;
  template <class DF>
  static hn::Vec<DF> Load(DF df, const T* p) {
    return hn::PromoteTo(df, hn::LoadU(hn::Rebind<T, DF>(), p));
  }
  static float Value(T v) { return model::bf16_to_fp32(v.bits); }
};

// Register block: as many accumulators as the target's registers hold.
constexpr size_t kRows = HWY_CAP_GE512 ? 6 : 4;
constexpr size_t kTokens = HWY_CAP_GE512 ? 4 : 2;

// Rows [r0, r0 + R) × tokens [t0, t0 + T), accumulated in R · T vectors.
template <class W, size_t R, size_t T>
void FloatBlock(const Matrix& w, size_t r0, const Activations& x, size_t t0, float* y, size_t y_stride) {
  const hn::ScalableTag<float> df;
  const size_t n = hn::Lanes(df);
  const size_t vector_cols = w.cols - w.cols % n;
  const typename W::T* row[R];
  for (size_t r = 0; r < R; ++r) row[r] = reinterpret_cast<const typename W::T*>(w.row(r0 + r));

  hn::Vec<decltype(df)> acc[R][T];
  for (size_t r = 0; r < R; ++r) {
    for (size_t t = 0; t < T; ++t) acc[r][t] = hn::Zero(df);
  }
  // Prefetching two blocks of rows ahead covers memory's latency (the matrix is
  // row-major): a prefetch per vector, two to a line for f16 (no branches).
  const size_t ahead = 2 * kRows * w.cols;
  for (size_t i = 0; i < vector_cols; i += n) {
    hn::Vec<decltype(df)> wv[R];
    for (size_t r = 0; r < R; ++r) {
      hwy::Prefetch(row[r] + ahead + i);
      wv[r] = W::Load(df, row[r] + i);
    }
    for (size_t t = 0; t < T; ++t) {
      const auto xv = hn::LoadU(df, x.f32_row(t0 + t) + i);
      for (size_t r = 0; r < R; ++r) acc[r][t] = hn::MulAdd(wv[r], xv, acc[r][t]);
    }
  }
  for (size_t t = 0; t < T; ++t) {
    const float* xt = x.f32_row(t0 + t);
    for (size_t r = 0; r < R; ++r) {
      float sum = hn::GetLane(hn::SumOfLanes(df, acc[r][t]));
      for (size_t i = vector_cols; i < w.cols; ++i) sum += W::Value(row[r][i]) * xt[i];
      y[(t0 + t) * y_stride + r0 + r] = sum;
    }
  }
}

// Tokens in blocks whose f32 rows stay in L2 while every block of rows meets them.
constexpr size_t kL2Budget = 512 << 10;

template <class W>
void MatmulOf(const Matrix& w, const Activations& x, float* y, size_t y_stride, size_t row_begin, size_t row_end) {
  using Fn = void (*)(const Matrix&, size_t, const Activations&, size_t, float*, size_t);
  static constexpr auto blocks = TableOfBlocks<Fn, kTokens>(std::make_index_sequence<kRows>(),
                                                            []<size_t R, size_t T>() { return &FloatBlock<W, R, T>; });
  const size_t block_tokens = std::max<size_t>(kTokens, kL2Budget / (w.cols * sizeof(float)) / kTokens * kTokens);
  for (size_t tb = 0; tb < x.tokens(); tb += block_tokens) {
    const size_t te = std::min(x.tokens(), tb + block_tokens);
    for (size_t r0 = row_begin; r0 < row_end; r0 += kRows) {
      const size_t rows = std::min(kRows, row_end - r0);
      for (size_t t0 = tb; t0 < te; t0 += kTokens)
        blocks[rows - 1][std::min(kTokens, te - t0) - 1](w, r0, x, t0, y, y_stride);
    }
  }
}

void MatmulFloat(const Matrix& w, const Activations& x, float* y, size_t y_stride, size_t row_begin, size_t row_end) {
  switch (w.type) {
    case model::TensorType::f16:
      return MatmulOf<F16>(w, x, y, y_stride, row_begin, row_end);
    case model::TensorType::bf16:
      return MatmulOf<BF16>(w, x, y, y_stride, row_begin, row_end);
    default:
      return MatmulOf<F32>(w, x, y, y_stride, row_begin, row_end);
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace rs::kernels
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace rs::kernels {

HWY_EXPORT(MatmulFloat);

void matmul_float(const Matrix& w, const Activations& x, float* y, size_t y_stride, size_t row_begin, size_t row_end) {
  HWY_DYNAMIC_DISPATCH(MatmulFloat)(w, x, y, y_stride, row_begin, row_end);
}

}  // namespace rs::kernels
#endif  // HWY_ONCE
