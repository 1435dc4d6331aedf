#include "core/grammar/stacks.h"

#include <algorithm>

namespace rs::grammar {

uint32_t FrameArena::push(uint32_t state, uint32_t below) {
  const uint32_t depth = below == kBottom ? 1 : frames_[below].depth + 1;
  if (depth > kMaxDepth) return kBottom;
  const uint64_t key = uint64_t(state) << 32 | below;
  const auto [it, added] = ids_.try_emplace(key, uint32_t(frames_.size()));
  if (added) frames_.push_back({state, below, depth});
  return it->second;
}

bool StackStepper::step(const std::vector<Stack>& from, uint8_t byte, std::vector<Stack>& to) {
  to.clear();
  seen_.clear();
  ended_ = false;
  bool took = false;
  for (const Stack s : from) {
    const int32_t next = automaton_.next(s.state, byte);
    if (next == Automaton::kDead) continue;
    took = true;
    visit({uint32_t(next), s.below}, to);
  }
  if (to.size() > 1) {
    std::sort(to.begin(), to.end());
    to.erase(std::unique(to.begin(), to.end()), to.end());
  }
  return took;
}

void StackStepper::expand(Stack from, std::vector<Stack>& to) {
  to.clear();
  seen_.clear();
  ended_ = false;
  visit(from, to);
  std::sort(to.begin(), to.end());
  to.erase(std::unique(to.begin(), to.end()), to.end());
}

void StackStepper::visit(Stack s, std::vector<Stack>& to) {
  const std::span<const Automaton::Call> calls = automaton_.calls(s.state);
  const bool accepting = automaton_.accepting(s.state);
  if (calls.empty() && !accepting) {  // the common case: nothing to expand
    if (automaton_.reads_bytes(s.state)) to.push_back(s);
    return;
  }
  if (std::find(seen_.begin(), seen_.end(), s.key()) != seen_.end()) return;
  seen_.push_back(s.key());
  if (automaton_.reads_bytes(s.state)) to.push_back(s);
  for (const Automaton::Call& call : calls) {
    const uint32_t below = arena_.push(call.next, s.below);
    if (below != kBottom) visit({call.callee, below}, to);
  }
  if (!accepting) return;
  if (s.below == kBottom) {
    ended_ = true;
  } else {
    visit(arena_.pop(s.below), to);
  }
}

bool walk_trie(const TokenTrie& trie, StackStepper& stepper, uint32_t first, uint32_t end,
               std::vector<std::vector<Stack>>& at_depth, std::vector<TokenId>& tokens, std::vector<uint32_t>* ends) {
  const uint32_t base = trie.depth(first) - 1;
  bool ended = false;
  for (uint32_t n = first; n < end;) {
    const uint32_t depth = trie.depth(n) - base;
    if (!stepper.step(at_depth[depth - 1], trie.byte(n), at_depth[depth])) {
      n = trie.subtree_end(n);
      continue;
    }
    for (const TokenId t : trie.tokens_at(n)) tokens.push_back(t);
    if (stepper.ended() && trie.subtree_end(n) > n + 1) {
      ended = true;
      if (ends) ends->push_back(n);
    }
    n = at_depth[depth].empty() ? trie.subtree_end(n) : n + 1;
  }
  return ended;
}

}  // namespace rs::grammar
