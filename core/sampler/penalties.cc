#include "core/sampler/penalties.h"

#include <algorithm>

namespace rs::sampler {
namespace {

bool in_row(TokenId token, std::span<float> logits) { return token >= 0 && size_t(token) < logits.size(); }

}  // namespace

Penalties::Penalties(const SamplingParams& params, std::span<const TokenId> prompt)
    : repetition_(params.repetition_penalty),
      presence_(params.presence_penalty),
      frequency_(params.frequency_penalty) {
  if (repetition_ == 1) return;
  prompt_.assign(prompt.begin(), prompt.end());
  std::sort(prompt_.begin(), prompt_.end());
  prompt_.erase(std::unique(prompt_.begin(), prompt_.end()), prompt_.end());
}

void Penalties::apply(std::span<float> logits) const {
  if (repetition_ != 1) {
    const auto repeat = [&](TokenId token) {
      if (!in_row(token, logits)) return;
      float& logit = logits[token];
      logit = logit > 0 ? logit / repetition_ : logit * repetition_;
    };
    for (const TokenId token : prompt_) repeat(token);
    for (const auto& [token, count] : generated_) {
      if (!std::binary_search(prompt_.begin(), prompt_.end(), token)) repeat(token);
    }
  }
  if (presence_ != 0 || frequency_ != 0) {
    for (const auto& [token, count] : generated_) {
      if (in_row(token, logits)) logits[token] -= presence_ + frequency_ * float(count);
    }
  }
}

void Penalties::accept(TokenId token) {
  if (active()) ++generated_[token];
}

}  // namespace rs::sampler
