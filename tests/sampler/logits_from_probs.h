#pragma once
// Logits whose softmax is exactly `probs` (they sum to 1): distributions the sampler tests can name directly.
#include <cmath>
#include <vector>

namespace rs::sampler {

inline std::vector<float> from_probs(const std::vector<double>& probs) {
  std::vector<float> logits;
  for (const double p : probs) logits.push_back(float(std::log(p)));
  return logits;
}

}  // namespace rs::sampler
