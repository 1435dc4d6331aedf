#pragma once
// One sequence's sampler: turns a row of logits into the next token.
//
// The chain, llama.cpp's default order where the parameters overlap:
//   constraint (structured output: the tokens it does not allow get -inf) ->
//   logit_bias -> repetition / presence / frequency penalties -> greedy argmax
//   when temperature is 0, else -> top-k -> top-p -> min-p -> temperature ->
//   softmax -> draw.
// The bias comes before the penalties as in llama.cpp (its logit_bias sampler
// heads the chain) and vLLM; truncation sees the distribution before
// temperature, as in llama.cpp (vLLM applies temperature first).
//
// Logprobs are the log-softmax of the logits after bias and penalties, before
// truncation and temperature: what the model plus the request's bias and
// penalties say, whatever the temperature.
//
// Each sequence draws from its own generator, seeded from params.seed (or a
// fresh process-wide seed), so a seed and the same logits give the same tokens
// whatever else shares the batch.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <random>
#include <span>
#include <utility>
#include <vector>

#include "core/sampler/constraint.h"
#include "core/sampler/penalties.h"
#include "core/sampler/sampling_params.h"
#include "core/sampler/truncation.h"

namespace rs::sampler {

struct Sampled {
  TokenId token = 0;
  float logprob = 0;                           // of `token`; with params.logprobs only
  std::vector<std::pair<TokenId, float>> top;  // the params.top_logprobs most likely, most likely first
};

// `token`'s logprob under the raw `logits`, and the `top` likeliest tokens':
// how a prompt's own tokens are scored (echo with logprobs), with no bias,
// penalty or temperature.
Sampled score_token(std::span<const float> logits, TokenId token, size_t top);

class Sampler {
 public:
  // `params` should have passed validate(); `prompt` feeds repetition_penalty.
  Sampler(const SamplingParams& params, std::span<const TokenId> prompt);

  // The next token from `logits`, a scratch row of one vocabulary's logits,
  // which it overwrites with the biased and penalized logits. Allocates only
  // on its first call and for top logprobs. Does not record the token: accept().
  Sampled sample(std::span<float> logits);
  // Records a generated token (sampled or not) for the penalties and the constraint.
  void accept(TokenId token);
  // Whether the constraint is satisfied and allows nothing more: the sequence is complete.
  bool constraint_finished() const { return constraint_ && constraint_->finished(); }
  // Why the constraint cannot go on (empty while it can): the sequence must end with this error.
  std::string_view constraint_failure() const { return constraint_ ? constraint_->failure() : std::string_view(); }

 private:
  void apply_constraint(std::span<float> logits);
  TokenId draw(std::span<const float> logits);
  double uniform();  // in [0, 1)

  float temperature_;
  size_t top_k_;
  float top_p_;
  float min_p_;
  bool logprobs_;
  size_t top_logprobs_;
  std::vector<std::pair<TokenId, float>> bias_;  // clamped to [-100, 100]
  Penalties penalties_;
  std::unique_ptr<Constraint> constraint_;
  std::vector<uint64_t> allowed_;  // the constraint's mask, reused by every step
  std::mt19937_64 rng_;
  std::vector<Candidate> candidates_;  // reused by every draw
  std::vector<float> weights_;         // reused by every draw
};

}  // namespace rs::sampler
