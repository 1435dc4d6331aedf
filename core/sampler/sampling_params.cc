#include "core/sampler/sampling_params.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace rs::sampler {
namespace {

// NaN fails every comparison, so `between` rejects it too.
bool between(float value, float low, float high) { return value >= low && value <= high; }

bool in_vocab(TokenId token, size_t vocab_size) { return token >= 0 && size_t(token) < vocab_size; }

}  // namespace

std::optional<std::string> SamplingParams::validate(size_t vocab_size) const {
  if (!between(temperature, 0, 2)) return "temperature must be between 0 and 2";
  if (top_k < 0) return "top_k must be at least 0 (0 turns it off)";
  if (!(top_p > 0 && top_p <= 1)) return "top_p must be greater than 0 and at most 1";
  if (!between(min_p, 0, 1)) return "min_p must be between 0 and 1";
  if (!(repetition_penalty > 0) || std::isinf(repetition_penalty)) {
    return "repetition_penalty must be a finite number greater than 0";
  }
  if (!between(presence_penalty, -2, 2)) return "presence_penalty must be between -2 and 2";
  if (!between(frequency_penalty, -2, 2)) return "frequency_penalty must be between -2 and 2";
  for (const auto& [token, bias] : logit_bias) {
    if (!in_vocab(token, vocab_size)) {
      return fmt::format("logit_bias: token {} is outside the vocabulary of {}", token, vocab_size);
    }
    if (std::isnan(bias)) return fmt::format("logit_bias: the bias of token {} is not a number", token);
  }
  if (max_tokens && *max_tokens < 0) return "max_tokens must not be negative";
  for (const TokenId token : stop_token_ids) {
    if (!in_vocab(token, vocab_size)) {
      return fmt::format("stop_token_ids: token {} is outside the vocabulary of {}", token, vocab_size);
    }
  }
  if (stop.size() > kMaxStopStrings) return fmt::format("stop: at most {} stop strings", kMaxStopStrings);
  for (size_t i = 0; i < stop.size(); ++i) {
    if (stop[i].empty()) return fmt::format("stop: stop string {} is empty", i);
  }
  if (top_logprobs < 0 || top_logprobs > kMaxTopLogprobs) {
    return fmt::format("top_logprobs must be between 0 and {}", kMaxTopLogprobs);
  }
  if (top_logprobs > 0 && !logprobs) return "top_logprobs requires logprobs to be true";
  return std::nullopt;
}

bool SamplingParams::is_stop_token(TokenId token, std::span<const TokenId> eos) const {
  if (std::find(stop_token_ids.begin(), stop_token_ids.end(), token) != stop_token_ids.end()) return true;
  return !ignore_eos && std::find(eos.begin(), eos.end(), token) != eos.end();
}

}  // namespace rs::sampler
