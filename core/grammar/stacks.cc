#include "core/grammar/stacks.h"

#include <algorithm>

namespace rs::grammar {

uint32_t FrameArena::depth(uint32_t below) const {
  if (below == kBottom) return 0;
  return is_join(below) ? joins_[below - kJoin].depth : frames_[below].depth;
}

uint32_t FrameArena::push(uint32_t state, uint32_t below) {
  const uint32_t depth = this->depth(below) + 1;
  highest_ = std::max(highest_, depth);
  if (depth > kMaxDepth) return kBottom;
  const uint64_t key = uint64_t(state) << 32 | below;
  const auto [it, added] = ids_.try_emplace(key, uint32_t(frames_.size()));
  if (added) frames_.push_back({state, below, depth});
  return it->second;
}

uint32_t FrameArena::join(std::span<const Stack> over) {
  flat_.clear();
  for (const Stack& s : over) for_each_frame(s.below, [&](uint32_t frame) { flat_.push_back(frame); });
  std::sort(flat_.begin(), flat_.end());
  flat_.erase(std::unique(flat_.begin(), flat_.end()), flat_.end());
  if (flat_.size() == 1) return flat_[0];
  uint64_t hash = 14695981039346656037u;  // FNV-1a over the frame ids
  for (const uint32_t f : flat_) hash = (hash ^ f) * 1099511628211u;
  const auto [first, last] = join_ids_.equal_range(hash);
  for (auto it = first; it != last; ++it) {
    const Join& j = joins_[it->second - kJoin];
    if (std::equal(flat_.begin(), flat_.end(), members_.begin() + j.first, members_.begin() + j.first + j.count)) {
      return it->second;
    }
  }
  uint32_t depth = 0;
  for (const uint32_t f : flat_) depth = std::max(depth, frames_[f].depth);
  const uint32_t id = kJoin + uint32_t(joins_.size());
  joins_.push_back({uint32_t(members_.size()), uint32_t(flat_.size()), depth});
  members_.insert(members_.end(), flat_.begin(), flat_.end());
  join_ids_.emplace(hash, id);
  return id;
}

bool StackStepper::step(const std::vector<Stack>& from, uint8_t byte, std::vector<Stack>& to) {
  to.clear();
  seen_.clear();
  ended_ = false;
  for (const Stack s : from) {
    const int32_t next = automaton_.next(s.state, byte);
    if (next != Automaton::kDead) visit({uint32_t(next), s.below}, to);
  }
  if (to.size() > 1) merge(to);
  return !to.empty() || ended_;
}

void StackStepper::expand(Stack from, std::vector<Stack>& to) {
  to.clear();
  seen_.clear();
  ended_ = false;
  visit(from, to);
  merge(to);
}

// Sorts and merges `stacks`: those with the same top become one over a join of their frames. One over kBottom
// stays apart (popping it ends the match, which no frame stands for).
void StackStepper::merge(std::vector<Stack>& stacks) {
  std::sort(stacks.begin(), stacks.end());
  stacks.erase(std::unique(stacks.begin(), stacks.end()), stacks.end());
  size_t kept = 0;
  for (size_t i = 0; i < stacks.size();) {
    size_t j = i;
    while (j < stacks.size() && stacks[j].state == stacks[i].state && stacks[j].below != kBottom) ++j;
    if (j - i > 1) {
      stacks[kept++] = {stacks[i].state, arena_.join(std::span(stacks).subspan(i, j - i))};
    } else if (j > i) {
      stacks[kept++] = stacks[i];
    }
    if (j < stacks.size() && stacks[j].state == stacks[i].state) stacks[kept++] = stacks[j++];  // over kBottom
    i = j;
  }
  stacks.resize(kept);
}

void StackStepper::visit(Stack s, std::vector<Stack>& to) {
  if (++visits_ > budget_) return;
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
    if (only_returns(call.next)) {  // a tail call (`list ::= item list`): the callee returns to our caller
      visit({call.callee, s.below}, to);
      continue;
    }
    const uint32_t below = arena_.push(call.next, s.below);
    if (below != kBottom) visit({call.callee, below}, to);
  }
  if (!accepting) return;
  if (s.below == kBottom) {
    ended_ = true;
  } else {
    arena_.for_each_frame(s.below, [&](uint32_t frame) { visit(arena_.pop(frame), to); });
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
