#pragma once
// One sequence's place in a CompiledGrammar: the stacks it can be in after
// the tokens so far. allowed() is the mask for the next token: each stack's
// cached tokens, plus the tokens that run past the end of its rule, walked on
// through the trie with the stack below; near the depth limit, where the
// cached ones may not hold, the whole trie walked from the stack.
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/grammar/compiled_grammar.h"
#include "core/grammar/stacks.h"
#include "core/sampler/constraint.h"

namespace rs::grammar {

class Matcher final : public sampler::Constraint {
 public:
  explicit Matcher(std::shared_ptr<const CompiledGrammar> grammar);

  void allowed(std::span<uint64_t> allowed) override;
  // An end token ends the match; any other token's bytes are read.
  void accept(TokenId token) override;
  bool finished() const override { return stacks_.empty() && complete_; }
  // Set once a mask cost more than kMaskVisits: ambiguous nesting that deep would hold the whole batch up.
  std::string_view failure() const override { return failure_; }
  static constexpr uint64_t kMaskVisits = uint64_t(1) << 24;

  // Reads `bytes`; false (and nothing read) when the grammar does not allow them here.
  bool read(std::string_view bytes);
  // Whether read(bytes) would succeed; reads nothing.
  bool can_read(std::string_view bytes);
  // Whether what was read is a whole sentence of the grammar.
  bool complete() const { return complete_; }
  // The stacks it is in: at most two per state (one over frames, one over nothing), however ambiguous the grammar.
  size_t stack_count() const { return stacks_.size(); }

 private:
  bool near_depth_limit(Stack s, const StateTokens& from) const;
  void walk(uint32_t first_node, uint32_t end_node, std::span<uint64_t> allowed);
  // The stacks after `bytes` from the present ones into `stacks`, and whether that is complete; false when
  // some byte is not allowed.
  bool advance(std::string_view bytes, std::vector<Stack>& stacks, bool& complete);

  std::shared_ptr<const CompiledGrammar> grammar_;
  FrameArena arena_;
  StackStepper stepper_;
  std::vector<Stack> stacks_, next_;
  bool complete_ = false;
  bool ended_ = false;                    // an end token was accepted
  std::string failure_;
  std::vector<std::vector<Stack>> walk_;  // per trie depth of a walk
  std::vector<TokenId> walked_;           // the tokens one walk read
  std::vector<std::pair<Stack, std::shared_ptr<const FollowTokens>>> callers_;  // of the stack allowed() is at
};

// A compiled grammar as a request's constraint: a fresh Matcher per sequence.
class GrammarConstraint final : public sampler::ConstraintSource {
 public:
  explicit GrammarConstraint(std::shared_ptr<const CompiledGrammar> grammar) : grammar_(std::move(grammar)) {}
  std::unique_ptr<sampler::Constraint> start() const override { return std::make_unique<Matcher>(grammar_); }

 private:
  std::shared_ptr<const CompiledGrammar> grammar_;
};

}  // namespace rs::grammar
