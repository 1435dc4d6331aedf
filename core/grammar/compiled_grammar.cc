#include "core/grammar/compiled_grammar.h"

#include "core/grammar/stacks.h"

namespace rs::grammar {

void StateTokens::add_to(std::span<uint64_t> allowed) const {
  for (size_t i = 0; i < bits.size(); ++i) allowed[i] |= bits[i];
  for (const TokenId t : listed) allowed[size_t(t) / 64] |= uint64_t(1) << (size_t(t) % 64);
}

CompiledGrammar::CompiledGrammar(Automaton automaton, std::shared_ptr<const TokenTrie> trie,
                                 std::vector<TokenId> end_tokens)
    : automaton_(std::move(automaton)), trie_(std::move(trie)), end_tokens_(std::move(end_tokens)) {}

const StateTokens& CompiledGrammar::tokens_from(uint32_t state) const {
  const std::lock_guard lock(mutex_);
  std::unique_ptr<const StateTokens>& entry = cache_[state];
  if (!entry) entry = std::make_unique<const StateTokens>(compute(state));
  return *entry;
}

size_t CompiledGrammar::cached_states() const {
  const std::lock_guard lock(mutex_);
  return cache_.size();
}

// One walk of the whole trie from `state` alone (nothing below it): a token is
// allowed if the state's rule reads all of it; where the rule can end with
// more of a token to come, the node is kept for the walk on below.
StateTokens CompiledGrammar::compute(uint32_t state) const {
  StateTokens out;
  std::vector<TokenId> allowed;
  if (automaton_.has_calls()) {
    walk_with_stacks(state, allowed, out.ends);
  } else {
    walk_states(state, allowed);
  }
  const size_t vocab = trie_->vocab_size();
  if (allowed.size() * 32 < vocab) {
    out.listed = std::move(allowed);
  } else {
    out.bits.assign((vocab + 63) / 64, 0);
    for (const TokenId t : allowed) out.bits[size_t(t) / 64] |= uint64_t(1) << (size_t(t) % 64);
  }
  return out;
}

// Without calls a match is one state, and the walk one table lookup per trie node.
void CompiledGrammar::walk_states(uint32_t state, std::vector<TokenId>& allowed) const {
  const TokenTrie& trie = *trie_;
  std::vector<uint32_t> at_depth(trie.max_depth() + 1);
  at_depth[0] = state;
  for (uint32_t n = 1; n < trie.node_count();) {
    const uint32_t depth = trie.depth(n);
    const int32_t next = automaton_.next(at_depth[depth - 1], trie.byte(n));
    if (next == Automaton::kDead) {
      n = trie.subtree_end(n);
      continue;
    }
    for (const TokenId t : trie.tokens_at(n)) allowed.push_back(t);
    at_depth[depth] = uint32_t(next);
    n = automaton_.reads_bytes(uint32_t(next)) ? n + 1 : trie.subtree_end(n);
  }
}

void CompiledGrammar::walk_with_stacks(uint32_t state, std::vector<TokenId>& allowed,
                                       std::vector<uint32_t>& ends) const {
  const TokenTrie& trie = *trie_;
  FrameArena arena;
  StackStepper stepper(automaton_, arena);
  std::vector<std::vector<Stack>> at_depth(trie.max_depth() + 1);
  at_depth[0] = {{state, kBottom}};
  for (uint32_t n = 1; n < trie.node_count();) {
    const uint32_t depth = trie.depth(n);
    if (!stepper.step(at_depth[depth - 1], trie.byte(n), at_depth[depth])) {
      n = trie.subtree_end(n);
      continue;
    }
    for (const TokenId t : trie.tokens_at(n)) allowed.push_back(t);
    const bool has_children = trie.subtree_end(n) > n + 1;
    if (stepper.ended() && has_children) ends.push_back(n);
    n = at_depth[depth].empty() ? trie.subtree_end(n) : n + 1;
  }
}

}  // namespace rs::grammar
