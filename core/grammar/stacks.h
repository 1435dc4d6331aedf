#pragma once
// Where a match can be in an Automaton: a stack of states. The top is the
// state now; below it, the states to go on in once each called rule has
// matched. Frames below the top are shared and interned (FrameArena), so a
// stack is two words and equal stacks are equal words.
//
// An ambiguous grammar can reach the same top over many different stacks (two
// rules that both read "(", nested: 2^n stacks after n of them). Stacks with
// the same top are merged into one over a join of their frames, as a
// graph-structured stack does, so a step's work grows with the states, not
// with the ways there.
#include <cstdint>
#include <span>
#include <unordered_map>
#include <vector>

#include "core/grammar/automaton.h"
#include "core/grammar/token_trie.h"

namespace rs::grammar {

inline constexpr uint32_t kBottom = UINT32_MAX;  // no frame below: popping ends the match

struct Stack {
  uint32_t state;
  uint32_t below;  // a frame or a join of the arena, or kBottom
  uint64_t key() const { return uint64_t(state) << 32 | below; }
  bool operator<(const Stack& o) const { return key() < o.key(); }
  bool operator==(const Stack& o) const { return key() == o.key(); }
};

class FrameArena {
 public:
  static constexpr uint32_t kMaxDepth = 1000;  // deeper nesting ends that path: a bound on hostile recursion

  // The frame `state` over `below`, interned; kBottom past kMaxDepth.
  uint32_t push(uint32_t state, uint32_t below);
  // One node that stands for the belows of all of `over` (frames or joins, none kBottom), interned: a join of
  // their frames, or the frame itself where there is only one.
  uint32_t join(std::span<const Stack> over);
  // Calls f(frame) for each frame `below` (not kBottom) stands for: itself, or a join's.
  template <class F>
  void for_each_frame(uint32_t below, F&& f) const {
    if (!is_join(below)) return f(below);
    const Join j = joins_[below - kJoin];  // copies and indices: f may add joins, moving both vectors
    for (uint32_t i = j.first; i < j.first + j.count; ++i) f(members_[i]);
  }
  // The stack a frame goes on with once the rule it called has matched.
  Stack pop(uint32_t frame) const { return {frames_[frame].state, frames_[frame].below}; }
  // How many frames deep `below` is (a join: its deepest frame); 0 for kBottom.
  uint32_t depth(uint32_t below) const;
  // The greatest depth a push has asked for, past kMaxDepth included.
  uint32_t highest() const { return highest_; }

 private:
  static constexpr uint32_t kJoin = 0x8000'0000;  // ids from here on are joins
  static bool is_join(uint32_t id) { return id >= kJoin && id != kBottom; }

  struct Frame {
    uint32_t state, below, depth;
  };
  struct Join {
    uint32_t first, count, depth;  // its frames are members_[first, first + count)
  };
  std::vector<Frame> frames_;
  std::unordered_map<uint64_t, uint32_t> ids_;
  std::vector<Join> joins_;
  std::vector<uint32_t> members_;
  std::unordered_multimap<uint64_t, uint32_t> join_ids_;  // by a hash of the members
  std::vector<uint32_t> flat_;                           // join's scratch
  uint32_t highest_ = 0;
};

// Moves stacks from one byte to the next: every stack's top reads the byte,
// then each result is expanded into the stacks whose top reads bytes (calls
// pushed, accepting states popped). Scratch space is kept between calls.
class StackStepper {
 public:
  StackStepper(const Automaton& automaton, FrameArena& arena) : automaton_(automaton), arena_(arena) {}

  // The stacks after `byte` from `from`, expanded, into `to` (sorted, unique).
  // Returns whether any stack took the byte and went on (in `to`, or popping its bottom: ended()); a path that
  // would nest past FrameArena::kMaxDepth goes nowhere.
  bool step(const std::vector<Stack>& from, uint8_t byte, std::vector<Stack>& to);
  // `from` expanded into `to`, as after a byte.
  void expand(Stack from, std::vector<Stack>& to);
  bool ended() const { return ended_; }
  // A bound on work: after `visits` more stacks visited, steps find nothing and exhausted() says so.
  void limit(uint64_t visits) { budget_ = visits_ + visits; }
  void unlimit() { budget_ = UINT64_MAX; }
  bool exhausted() const { return visits_ > budget_; }

 private:
  void visit(Stack s, std::vector<Stack>& to);
  void merge(std::vector<Stack>& stacks);
  // A state that can only return: a frame of it would be popped at once, so a call returning there pushes none,
  // and right recursion grows no stack.
  bool only_returns(uint32_t state) const {
    return automaton_.accepting(state) && !automaton_.reads_bytes(state) && automaton_.calls(state).empty();
  }

  const Automaton& automaton_;
  FrameArena& arena_;
  std::vector<uint64_t> seen_;
  bool ended_ = false;
  uint64_t visits_ = 0, budget_ = UINT64_MAX;
};

// Reads the trie nodes [first, end) (a subtree, or the whole trie from node 1) from the stacks in at_depth[0],
// the depth above `first`; at_depth has an entry per depth below and is reused. Appends every token read whole
// to `tokens`, and to `ends`, if given, the nodes with children where a stack's bottom ended; returns whether
// that happened.
bool walk_trie(const TokenTrie& trie, StackStepper& stepper, uint32_t first, uint32_t end,
               std::vector<std::vector<Stack>>& at_depth, std::vector<TokenId>& tokens, std::vector<uint32_t>* ends);

}  // namespace rs::grammar
