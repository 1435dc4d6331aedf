#include "cache/sign_sketch.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <random>
#include <stdexcept>

namespace rs::cache {

SignSketcher::SignSketcher(uint32_t dims, uint64_t seed) : dims_(dims), hyperplanes_(size_t{dims} * kSketchBits) {
  std::mt19937_64 random(seed);
  std::normal_distribution<float> gaussian;  // a Gaussian direction is uniform on the sphere: what θ/π assumes
  for (float& component : hyperplanes_) component = gaussian(random);
}

Sketch SignSketcher::sketch(std::span<const float> vector) const {
  if (vector.size() != dims_) throw std::invalid_argument("SignSketcher: the vector's length is not dims");
  // Row by row, so that the inner loop is an independent multiply-add per hyperplane, which the compiler vectorizes.
  std::array<float, kSketchBits> projection{};
  for (uint32_t d = 0; d < dims_; ++d) {
    const float component = vector[d];
    const float* row = &hyperplanes_[size_t{d} * kSketchBits];
    for (uint32_t bit = 0; bit < kSketchBits; ++bit) projection[bit] += component * row[bit];
  }
  Sketch sketch{};
  for (uint32_t bit = 0; bit < kSketchBits; ++bit) sketch[bit / 64] |= uint64_t{projection[bit] > 0} << (bit % 64);
  return sketch;
}

uint32_t hamming_radius(uint32_t bits, double similarity, double miss_probability) {
  const double p = std::acos(std::clamp(similarity, -1.0, 1.0)) / std::numbers::pi;  // one bit differs
  if (p == 0) return 0;
  if (p == 1) return bits;
  // P(X > r) summed from the top in log space, where the terms neither overflow nor vanish too early.
  const auto log_pmf = [&](uint32_t k) {
    return std::lgamma(bits + 1.0) - std::lgamma(k + 1.0) - std::lgamma(bits - k + 1.0) + k * std::log(p) +
           (bits - k) * std::log1p(-p);
  };
  double tail = 0;  // P(X > r)
  uint32_t r = bits;
  while (r > 0) {
    const double next_tail = tail + std::exp(log_pmf(r));  // P(X > r - 1)
    if (next_tail >= miss_probability) break;
    tail = next_tail;
    --r;
  }
  return r;
}

}  // namespace rs::cache
