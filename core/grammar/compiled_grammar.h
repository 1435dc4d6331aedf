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
// cached as the trie nodes where the rule can end, and walked on with the
// state the caller returns to, cached too by that pair. So after a few
// tokens of a schema every mask is an OR of cached sets.
//
// The caches are bounded: every grammar of a compiler draws on one CacheBudget
// of bytes. A grammar that finds it spent empties its own caches and starts
// over; if the others hold it all, it computes what it needs without keeping
// it. Slower, never wrong: a mask is the same cached or not.
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <unordered_map>
#include <vector>

#include "core/grammar/automaton.h"
#include "core/grammar/stacks.h"
#include "core/grammar/token_trie.h"
#include "core/sampler/sampling_params.h"

namespace rs::grammar {

// A set of tokens: a bitmap, or a list when it holds few.
struct TokenSet {
  std::vector<uint64_t> bits;
  std::vector<TokenId> listed;

  static TokenSet of(std::vector<TokenId> tokens, size_t vocab_size);
  void add_to(std::span<uint64_t> allowed) const;
};

// The tokens a state allows on its own, and where its rule may end inside a token.
struct StateTokens {
  TokenSet tokens;
  std::vector<uint32_t> ends;  // trie nodes (with children) where the rule can end: walk on below
  uint32_t height = 0;         // the most frames the walk pushed: these hold only this far below kMaxDepth
};

// The tokens that end a state's rule and go on in the state its caller returns to.
struct FollowTokens {
  TokenSet tokens;
  bool past_caller = false;  // some also end the caller's rule: where the caller was called too, walk them
  uint32_t height = 0;       // as StateTokens', above the caller's frames
};

// Bytes that caches may hold together, taken and given back from any thread.
class CacheBudget {
 public:
  explicit CacheBudget(size_t limit) : limit_(limit) {}
  // Whether `bytes` more fit; if so they are counted.
  bool take(size_t bytes);
  void give_back(size_t bytes) { used_.fetch_sub(bytes, std::memory_order_relaxed); }
  size_t used() const { return used_.load(std::memory_order_relaxed); }
  size_t limit() const { return limit_; }

 private:
  const size_t limit_;
  std::atomic<size_t> used_{0};
};

class CompiledGrammar {
 public:
  // A grammar's own budget where no compiler shares one: an answer cached for each of 4,000 states at 128K tokens.
  static constexpr size_t kDefaultCacheBytes = size_t(64) << 20;

  // `end_tokens` are allowed once the grammar is matched (the model's end of generation). `budget`: what its caches
  // may hold, shared with other grammars (none: its own, of kDefaultCacheBytes).
  CompiledGrammar(Automaton automaton, std::shared_ptr<const TokenTrie> trie, std::vector<TokenId> end_tokens,
                  std::shared_ptr<CacheBudget> budget = nullptr);
  ~CompiledGrammar();
  CompiledGrammar(const CompiledGrammar&) = delete;
  CompiledGrammar& operator=(const CompiledGrammar&) = delete;

  const Automaton& automaton() const { return automaton_; }
  const TokenTrie& trie() const { return *trie_; }
  std::span<const TokenId> end_tokens() const { return end_tokens_; }
  // What `state` allows, computed on first use; safe from any thread. Held by the caller, it outlives its cache entry.
  std::shared_ptr<const StateTokens> tokens_from(uint32_t state) const;
  // What `state` allows past the end of its rule when its caller returns to `caller` (a frame with
  // nothing below it), computed on first use; safe from any thread.
  std::shared_ptr<const FollowTokens> tokens_after(uint32_t state, uint32_t caller) const;
  size_t cached_states() const;
  size_t cached_bytes() const;
  // How many times its caches were emptied for want of budget.
  size_t cache_resets() const;

 private:
  StateTokens compute(uint32_t state) const;
  FollowTokens compute_after(uint32_t state, uint32_t caller) const;
  // `cache`'s entry for `key`: computed outside the lock on a miss, and kept if the budget has room.
  template <typename Cache, typename Compute>
  typename Cache::mapped_type cached(Cache& cache, typename Cache::key_type key, Compute compute) const;
  // Under mutex_: counts `bytes` more against the budget, emptying this grammar's caches first if it must.
  bool make_room(size_t bytes) const;
  void walk_one_state(uint32_t state, std::vector<TokenId>& allowed, std::vector<uint32_t>& ends) const;
  // `stepper`'s arena holds the frames below the stacks' tops.
  bool walk_stacks(StackStepper& stepper, uint32_t first_node, uint32_t end_node, std::vector<Stack> stacks,
                   std::vector<TokenId>& allowed, std::vector<uint32_t>* ends) const;

  Automaton automaton_;
  std::shared_ptr<const TokenTrie> trie_;
  std::vector<TokenId> end_tokens_;
  std::shared_ptr<CacheBudget> budget_;
  mutable std::mutex mutex_;
  mutable std::unordered_map<uint32_t, std::shared_ptr<const StateTokens>> cache_;
  mutable std::unordered_map<uint64_t, std::shared_ptr<const FollowTokens>> follow_cache_;
  mutable size_t cached_bytes_ = 0;  // of budget_, for the entries above
  mutable size_t cache_resets_ = 0;
};

}  // namespace rs::grammar
