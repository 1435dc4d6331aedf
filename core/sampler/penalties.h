#pragma once
// Penalties on tokens a sequence has already seen. repetition_penalty follows
// HF / llama.cpp over prompt and generated tokens: a positive logit is divided
// by it, a negative one multiplied. presence_penalty and frequency_penalty
// follow OpenAI over generated tokens only:
//   logit -= presence * (count > 0) + frequency * count.
// Repetition comes first, then presence and frequency, as in llama.cpp and vLLM.
#include <cstdint>
#include <span>
#include <unordered_map>
#include <vector>

#include "core/sampler/sampling_params.h"

namespace rs::sampler {

class Penalties {
 public:
  Penalties(const SamplingParams& params, std::span<const TokenId> prompt);

  // Token ids outside `logits` are left alone.
  void apply(std::span<float> logits) const;
  // Records a generated token.
  void accept(TokenId token);

 private:
  bool active() const { return repetition_ != 1 || presence_ != 0 || frequency_ != 0; }

  float repetition_;
  float presence_;
  float frequency_;
  std::vector<TokenId> prompt_;  // distinct and sorted; kept only for a repetition penalty
  // A sequence generates a few thousand distinct tokens at most: a map, not a
  // vocabulary-sized row per sequence. Empty when no penalty is on.
  std::unordered_map<TokenId, uint32_t> generated_;
};

}  // namespace rs::sampler
