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

}  // namespace rs::grammar
