#pragma once
// A constraint on what one sequence may generate next (a grammar's state:
// core/grammar). The sampler asks it for the allowed tokens before anything
// else in its chain, so every sampling mode respects it, and tells it every
// token the sequence generates.
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

#include "core/sampler/sampling_params.h"

namespace rs::sampler {

class Constraint {
 public:
  virtual ~Constraint() = default;
  // Sets bit `t` of `allowed` (ceil(vocab / 64) words, cleared by the caller)
  // for every token `t` that may come next. A device sampler can take the same bits.
  virtual void allowed(std::span<uint64_t> allowed) = 0;
  // Records a generated token; it should be one allowed() gave.
  virtual void accept(TokenId token) = 0;
  // Whether what was generated is complete and nothing may follow it: the sequence is over.
  virtual bool finished() const = 0;
  // Why it cannot go on (empty while it can): the sequence ends with this error, its last mask unused.
  virtual std::string_view failure() const { return {}; }
};

// Sets to -inf the logit of every token whose bit in `allowed` is clear.
void mask_logits(std::span<float> logits, std::span<const uint64_t> allowed);

// What a request carries: one fresh Constraint per sequence, all alike.
class ConstraintSource {
 public:
  virtual ~ConstraintSource() = default;
  virtual std::unique_ptr<Constraint> start() const = 0;
};

}  // namespace rs::sampler
