#include "core/grammar/compiled_grammar.h"

#include <algorithm>

#include "core/grammar/stacks.h"

namespace rs::grammar {

TokenSet TokenSet::of(std::vector<TokenId> tokens, size_t vocab_size) {
  TokenSet set;
  if (tokens.size() * 32 < vocab_size) {
    set.listed = std::move(tokens);
    return set;
  }
  set.bits.assign((vocab_size + 63) / 64, 0);
  for (const TokenId t : tokens) set.bits[size_t(t) / 64] |= uint64_t(1) << (size_t(t) % 64);
  return set;
}

void TokenSet::add_to(std::span<uint64_t> allowed) const {
  for (size_t i = 0; i < bits.size(); ++i) allowed[i] |= bits[i];
  for (const TokenId t : listed) allowed[size_t(t) / 64] |= uint64_t(1) << (size_t(t) % 64);
}

namespace {

// What a cache entry holds, with its share of the hash table.
constexpr size_t kEntryOverhead = 64;

size_t bytes_of(const TokenSet& set) {
  return set.bits.capacity() * sizeof(uint64_t) + set.listed.capacity() * sizeof(TokenId);
}
size_t bytes_of(const StateTokens& t) {
  return sizeof(t) + kEntryOverhead + bytes_of(t.tokens) + t.ends.capacity() * sizeof(uint32_t);
}
size_t bytes_of(const FollowTokens& t) { return sizeof(t) + kEntryOverhead + bytes_of(t.tokens); }

}  // namespace

bool CacheBudget::take(size_t bytes) {
  size_t used = used_.load(std::memory_order_relaxed);
  do {
    if (bytes > limit_ - std::min(used, limit_)) return false;
  } while (!used_.compare_exchange_weak(used, used + bytes, std::memory_order_relaxed));
  return true;
}

CompiledGrammar::CompiledGrammar(Automaton automaton, std::shared_ptr<const TokenTrie> trie,
                                 std::vector<TokenId> end_tokens, std::shared_ptr<CacheBudget> budget)
    : automaton_(std::move(automaton)),
      trie_(std::move(trie)),
      end_tokens_(std::move(end_tokens)),
      budget_(budget ? std::move(budget) : std::make_shared<CacheBudget>(kDefaultCacheBytes)) {}

CompiledGrammar::~CompiledGrammar() { budget_->give_back(cached_bytes_); }

template <typename Cache, typename Compute>
typename Cache::mapped_type CompiledGrammar::cached(Cache& cache, typename Cache::key_type key,
                                                    Compute compute) const {
  {
    const std::lock_guard lock(mutex_);
    if (const auto it = cache.find(key); it != cache.end()) return it->second;
  }
  auto computed = std::make_shared<typename Cache::mapped_type::element_type>(compute());
  const std::lock_guard lock(mutex_);
  if (const auto it = cache.find(key); it != cache.end()) return it->second;  // another thread's, first
  if (make_room(bytes_of(*computed))) cache.emplace(key, computed);
  return computed;
}

bool CompiledGrammar::make_room(size_t bytes) const {
  if (budget_->take(bytes)) {
    cached_bytes_ += bytes;
    return true;
  }
  if (cached_bytes_ == 0) return false;  // the other grammars hold it all
  // Entries in use live on with their users; the states this grammar needs next are cached again.
  budget_->give_back(cached_bytes_);
  cached_bytes_ = 0;
  cache_.clear();
  follow_cache_.clear();
  ++cache_resets_;
  return make_room(bytes);
}

std::shared_ptr<const StateTokens> CompiledGrammar::tokens_from(uint32_t state) const {
  return cached(cache_, state, [&] { return compute(state); });
}

std::shared_ptr<const FollowTokens> CompiledGrammar::tokens_after(uint32_t state, uint32_t caller) const {
  return cached(follow_cache_, uint64_t(state) << 32 | caller, [&] { return compute_after(state, caller); });
}

size_t CompiledGrammar::cached_states() const {
  const std::lock_guard lock(mutex_);
  return cache_.size();
}

size_t CompiledGrammar::cached_bytes() const {
  const std::lock_guard lock(mutex_);
  return cached_bytes_;
}

size_t CompiledGrammar::cache_resets() const {
  const std::lock_guard lock(mutex_);
  return cache_resets_;
}

// One walk of the whole trie from `state` alone (nothing below it): a token is
// allowed if the state's rule reads all of it; where the rule can end with
// more of a token to come, the node is kept for the walk on below.
StateTokens CompiledGrammar::compute(uint32_t state) const {
  StateTokens out;
  std::vector<TokenId> allowed;
  if (automaton_.rule_calls(state)) {
    FrameArena arena;
    StackStepper stepper(automaton_, arena);
    walk_stacks(stepper, 1, trie_->node_count(), {{state, kBottom}}, allowed, &out.ends);
    out.height = arena.highest();
  } else {
    walk_one_state(state, allowed, out.ends);
  }
  out.tokens = TokenSet::of(std::move(allowed), trie_->vocab_size());
  return out;
}

// The walk on from each of `state`'s ends, with the caller's state over nothing.
FollowTokens CompiledGrammar::compute_after(uint32_t state, uint32_t caller) const {
  const std::shared_ptr<const StateTokens> from = tokens_from(state);
  FrameArena arena;
  StackStepper stepper(automaton_, arena);
  std::vector<Stack> callers;
  stepper.expand({caller, kBottom}, callers);
  FollowTokens out;
  // Where the caller's rule can end as this one does (a JSON value that is a string), every token walked on from
  // an end may also go on below the caller.
  out.past_caller = stepper.ended();
  std::vector<TokenId> allowed;
  for (const uint32_t end : from->ends) {
    out.past_caller |= walk_stacks(stepper, end + 1, trie_->subtree_end(end), callers, allowed, nullptr);
  }
  out.tokens = TokenSet::of(std::move(allowed), trie_->vocab_size());
  out.height = arena.highest();
  return out;
}

// Inside a rule that calls nothing a match is one state: one table lookup per trie node.
void CompiledGrammar::walk_one_state(uint32_t state, std::vector<TokenId>& allowed, std::vector<uint32_t>& ends) const {
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
    if (automaton_.accepting(uint32_t(next)) && trie.subtree_end(n) > n + 1) ends.push_back(n);
    at_depth[depth] = uint32_t(next);
    n = automaton_.reads_bytes(uint32_t(next)) ? n + 1 : trie.subtree_end(n);
  }
}

bool CompiledGrammar::walk_stacks(StackStepper& stepper, uint32_t first, uint32_t end, std::vector<Stack> stacks,
                                  std::vector<TokenId>& allowed, std::vector<uint32_t>* ends) const {
  std::vector<std::vector<Stack>> at_depth(trie_->max_depth() + 1);
  at_depth[0] = std::move(stacks);
  return walk_trie(*trie_, stepper, first, end, at_depth, allowed, ends);
}

}  // namespace rs::grammar
