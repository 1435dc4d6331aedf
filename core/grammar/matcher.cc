#include "core/grammar/matcher.h"

#include <algorithm>

#include <fmt/format.h>

namespace rs::grammar {
namespace {

void set_bit(std::span<uint64_t> bits, TokenId t) { bits[size_t(t) / 64] |= uint64_t(1) << (size_t(t) % 64); }

}  // namespace

Matcher::Matcher(std::shared_ptr<const CompiledGrammar> grammar)
    : grammar_(std::move(grammar)), stepper_(grammar_->automaton(), arena_), walk_(grammar_->trie().max_depth() + 1) {
  stepper_.expand({grammar_->automaton().start(), kBottom}, stacks_);
  complete_ = stepper_.ended();
}

void Matcher::allowed(std::span<uint64_t> allowed) {
  if (ended_ || !failure_.empty()) return;
  const TokenTrie& trie = grammar_->trie();
  stepper_.limit(kMaskVisits);
  for (const Stack s : stacks_) {
    if (stepper_.exhausted()) break;
    const std::shared_ptr<const StateTokens> from = grammar_->tokens_from(s.state);
    callers_.clear();
    if (!from->ends.empty() && s.below != kBottom) {  // nothing may follow the root's end
      arena_.for_each_frame(s.below, [&](uint32_t frame) {
        const Stack caller = arena_.pop(frame);
        callers_.push_back({caller, grammar_->tokens_after(s.state, caller.state)});
      });
    }
    if (near_depth_limit(s, *from)) {
      walk_[0].assign(1, s);
      walk(1, trie.node_count(), allowed);
      continue;
    }
    from->tokens.add_to(allowed);
    for (const auto& [caller, after] : callers_) {
      after->tokens.add_to(allowed);
      if (!after->past_caller || caller.below == kBottom) continue;
      // Some tokens run past the caller's end too: what comes then depends on the whole stack.
      stepper_.expand(caller, walk_[0]);
      if (walk_[0].empty()) continue;
      for (const uint32_t end : from->ends) walk(end + 1, trie.subtree_end(end), allowed);
    }
  }
  const bool overspent = stepper_.exhausted();
  stepper_.unlimit();
  if (overspent) {
    failure_ = fmt::format("the output's grammar is too costly to follow here: the mask for the next token took more "
                           "than {} steps of the matcher (an ambiguous grammar, nested deep); make the grammar "
                           "unambiguous or bound its nesting",
                           kMaskVisits);
    return;
  }
  // Once complete the sequence may end; with nothing else possible it must (a grammar no token can go on in).
  const bool none = std::all_of(allowed.begin(), allowed.end(), [](uint64_t w) { return w == 0; });
  if (complete_ || none) {
    for (const TokenId t : grammar_->end_tokens()) set_bit(allowed, t);
  }
}

// The tables were walked from a stack of one: where this stack (or a caller's) is nearer FrameArena::kMaxDepth
// than they pushed frames, a token they allow may go past it, and only a walk from the stack itself is exact.
bool Matcher::near_depth_limit(Stack s, const StateTokens& from) const {
  if (arena_.depth(s.below) + from.height > FrameArena::kMaxDepth) return true;
  return std::any_of(callers_.begin(), callers_.end(), [&](const auto& c) {
    return arena_.depth(c.first.below) + c.second->height > FrameArena::kMaxDepth;
  });
}

// The tokens of trie nodes [first, end) (whole subtrees) that the stacks in walk_[0] read all of.
void Matcher::walk(uint32_t first, uint32_t end, std::span<uint64_t> allowed) {
  walked_.clear();
  walk_trie(grammar_->trie(), stepper_, first, end, walk_, walked_, nullptr);
  for (const TokenId t : walked_) set_bit(allowed, t);
}

void Matcher::accept(TokenId token) {
  const std::span<const TokenId> ends = grammar_->end_tokens();
  if (std::find(ends.begin(), ends.end(), token) != ends.end()) {
    ended_ = true;
    stacks_.clear();
    return;
  }
  if (token >= 0 && size_t(token) < grammar_->trie().vocab_size()) read(grammar_->trie().token_bytes(token));
}

bool Matcher::read(std::string_view bytes) {
  std::vector<Stack> stacks;
  bool complete = false;
  if (!advance(bytes, stacks, complete)) return false;
  stacks_ = std::move(stacks);
  complete_ = complete;
  return true;
}

bool Matcher::can_read(std::string_view bytes) {
  std::vector<Stack> stacks;
  bool complete = false;
  return advance(bytes, stacks, complete);
}

bool Matcher::advance(std::string_view bytes, std::vector<Stack>& stacks, bool& complete) {
  stacks = stacks_;
  complete = complete_;
  for (const char c : bytes) {
    if (!stepper_.step(stacks, uint8_t(c), next_)) return false;
    complete = stepper_.ended();
    stacks.swap(next_);
  }
  return true;
}

}  // namespace rs::grammar
