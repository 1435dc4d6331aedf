// Sign sketches of embeddings: one bit per fixed random hyperplane, the side of it the vector lies on. Two vectors at
// angle θ differ in each bit independently with probability θ/π, so a Hamming distance bounds their cosine without
// touching the vectors (Charikar, "Similarity estimation techniques from rounding algorithms", 2002).
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

namespace rs::cache {

inline constexpr uint32_t kSketchWords = 4;
inline constexpr uint32_t kSketchBits = 64 * kSketchWords;

using Sketch = std::array<uint64_t, kSketchWords>;  // bit b of the sketch is bit b % 64 of word b / 64

class SignSketcher {
 public:
  // kSketchBits Gaussian hyperplanes in `dims` dimensions, the same for the same seed.
  SignSketcher(uint32_t dims, uint64_t seed);

  Sketch sketch(std::span<const float> vector) const;  // throws std::invalid_argument unless vector.size() == dims

 private:
  uint32_t dims_;
  std::vector<float> hyperplanes_;  // dims × kSketchBits: row d holds component d of every hyperplane
};

// The least radius r such that two vectors at cosine ≥ `similarity` differ in more than r of `bits` sketch bits
// with probability below `miss_probability`: the upper tail of Binomial(bits, acos(similarity) / π).
uint32_t hamming_radius(uint32_t bits, double similarity, double miss_probability);

}  // namespace rs::cache
