#pragma once
// A grammar ready to constrain generation over one vocabulary: its automaton,
// the vocabulary's token trie, and a cache of what every automaton state
// allows, filled on first use and shared by every sequence of every request
// that uses the grammar.
//
// What a state allows splits in two (XGrammar's adaptive token mask): tokens
// whose bytes the state's own rule (and the rules it calls) reads whole are
// allowed whatever is below it on the stack, and are cached as a set; tokens
// that run past the end of the rule depend on what follows the rule, and are
// cached as the trie nodes where the rule can end, to be walked on with the
// stack below at each step. A grammar without recursion is one rule, so
// there every mask is a cached set.
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <unordered_map>
#include <vector>

#include "core/grammar/automaton.h"
#include "core/grammar/token_trie.h"
#include "core/sampler/sampling_params.h"

namespace rs::grammar {

// The tokens a state allows on its own, and where its rule may end inside a token.
struct StateTokens {
  std::vector<uint64_t> bits;    // a set of tokens as a bitmap ...
  std::vector<TokenId> listed;   // ... or, when few, as a list (the other one is empty)
  std::vector<uint32_t> ends;    // trie nodes (with children) where the rule can end: walk on below

  void add_to(std::span<uint64_t> allowed) const;
};

class CompiledGrammar {
 public:
  // `end_tokens` are allowed once the grammar is matched (the model's end of generation).
  CompiledGrammar(Automaton automaton, std::shared_ptr<const TokenTrie> trie, std::vector<TokenId> end_tokens);

  const Automaton& automaton() const { return automaton_; }
  const TokenTrie& trie() const { return *trie_; }
  std::span<const TokenId> end_tokens() const { return end_tokens_; }
  // What `state` allows, computed on first use; safe from any thread.
  const StateTokens& tokens_from(uint32_t state) const;
  size_t cached_states() const;

 private:
  StateTokens compute(uint32_t state) const;
  void walk_states(uint32_t state, std::vector<TokenId>& allowed) const;
  void walk_with_stacks(uint32_t state, std::vector<TokenId>& allowed, std::vector<uint32_t>& ends) const;

  Automaton automaton_;
  std::shared_ptr<const TokenTrie> trie_;
  std::vector<TokenId> end_tokens_;
  mutable std::mutex mutex_;
  mutable std::unordered_map<uint32_t, std::unique_ptr<const StateTokens>> cache_;
};

}  // namespace rs::grammar
