#include "core/sampler/constraint.h"

#include <algorithm>
#include <cmath>

namespace rs::sampler {

// Whole words of allowed tokens are skipped; the rest get -inf, so no later step of the chain brings them back.
void mask_logits(std::span<float> logits, std::span<const uint64_t> allowed) {
  for (size_t w = 0; w < allowed.size() && w * 64 < logits.size(); ++w) {
    const uint64_t word = allowed[w];
    if (word == ~uint64_t(0)) continue;
    const size_t end = std::min(logits.size(), (w + 1) * 64);
    if (word == 0) {  // the common case when few tokens are allowed: one vectorized fill
      std::fill(logits.begin() + ptrdiff_t(w * 64), logits.begin() + ptrdiff_t(end), -INFINITY);
      continue;
    }
    for (size_t i = w * 64; i < end; ++i) {
      if (!(word >> (i - w * 64) & 1)) logits[i] = -INFINITY;
    }
  }
}

}  // namespace rs::sampler
