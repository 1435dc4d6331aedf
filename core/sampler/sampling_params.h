#pragma once
// What a request asks of the sampler: OpenAI's sampling fields plus the
// vLLM / llama.cpp extensions (top_k, min_p, repetition_penalty, ignore_eos).
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace rs::sampler {

using TokenId = int32_t;  // as tokenizer::TokenId: the sampler does not depend on the tokenizer

class ConstraintSource;  // constraint.h

// OpenAI allows 4; vLLM and llama.cpp any number. This bounds the matching work per token.
inline constexpr size_t kMaxStopStrings = 16;
inline constexpr int32_t kMaxTopLogprobs = 20;

struct SamplingParams {
  float temperature = 1.0f;         // 0: greedy
  int32_t top_k = 0;                // 0: off
  float top_p = 1.0f;               // 1: off
  float min_p = 0.0f;               // 0: off
  float repetition_penalty = 1.0f;  // 1: off; over prompt and generated tokens
  float presence_penalty = 0.0f;    // over generated tokens only
  float frequency_penalty = 0.0f;   // over generated tokens only
  std::map<TokenId, float> logit_bias;  // added to the logit; the sampler clamps it to [-100, 100]
  std::optional<uint64_t> seed;         // none: a fresh seed per sequence
  std::optional<int32_t> max_tokens;    // none: until the context is full
  std::vector<TokenId> stop_token_ids;  // besides the model's end-of-generation tokens
  std::vector<std::string> stop;        // stop strings, matched on the text by StopMatcher
  bool logprobs = false;
  int32_t top_logprobs = 0;  // 0..kMaxTopLogprobs alternatives per token, with logprobs
  bool ignore_eos = false;   // generate past the model's end-of-generation tokens
  // What the output must match (structured output, tool calls); none: anything. Shared: every choice of a
  // request, and every request with the same grammar, start from one compiled grammar.
  std::shared_ptr<const ConstraintSource> constraint;

  // The first invalid field as a message that starts with the field's name;
  // none when the request is valid for a vocabulary of `vocab_size` tokens.
  std::optional<std::string> validate(size_t vocab_size) const;

  // Whether generating `token` ends the sequence: one of stop_token_ids, or one
  // of the model's end-of-generation tokens `eos` unless ignore_eos. The token
  // itself is not part of the text.
  bool is_stop_token(TokenId token, std::span<const TokenId> eos) const;
};

}  // namespace rs::sampler
