#pragma once
// A grammar compiled for matching: one deterministic automaton over bytes per
// rule that stays a rule (the root, the recursive ones, and the unbounded ones
// used in several places), every other rule expanded in place. A state may also call a rule: the matcher pushes
// where to return and goes on in the callee's start state; an accepting state
// of a callee returns. This is a recursive transition network whose every
// rule is a DFA, so a stack of states says everything about a match.
//
// States are numbered across all rules. Bytes fall into classes per rule
// (bytes no edge of the rule tells apart share one), so a state's row of
// transitions is short.
#include <cstdint>
#include <span>
#include <vector>

#include "core/grammar/grammar.h"

namespace rs::grammar {

class Automaton {
 public:
  static constexpr int32_t kDead = -1;

  struct Call {
    uint32_t callee;  // the start state of the rule called
    uint32_t next;    // the caller's state once the callee has matched
  };

  // Throws GrammarError for an incomplete or left-recursive grammar, or one
  // whose automaton would exceed the size limits (kMaxStates), or take more
  // to build than one compile may (automaton.cc's Work).
  static Automaton compile(const Grammar& grammar);

  uint32_t start() const { return start_; }
  size_t state_count() const { return accepting_.size(); }
  // The memory its tables hold.
  size_t bytes() const;
  // The state after `byte` from `state`, or kDead.
  int32_t next(uint32_t state, uint8_t byte) const {
    return transitions_[row_[state] + class_of_[size_t(class_map_[state]) * 256 + byte]];
  }
  bool accepting(uint32_t state) const { return accepting_[state] != 0; }
  bool reads_bytes(uint32_t state) const { return reads_bytes_[state] != 0; }
  // Whether any state of `state`'s rule calls a rule: if none, a match inside the rule is one state.
  bool rule_calls(uint32_t state) const { return rule_calls_[class_map_[state]] != 0; }
  std::span<const Call> calls(uint32_t state) const {
    return {calls_.data() + call_begin_[state], calls_.data() + call_begin_[state + 1]};
  }

  static constexpr size_t kMaxStates = 100'000;

 private:
  friend class AutomatonBuilder;
  uint32_t start_ = 0;
  std::vector<uint8_t> class_of_;     // per rule automaton: byte → class, 256 entries each
  std::vector<uint32_t> class_map_;   // per state: its rule automaton's index into class_of_ / 256
  std::vector<uint8_t> rule_calls_;   // per rule automaton: whether a state of it calls a rule
  std::vector<uint32_t> row_;         // per state: where its row starts in transitions_
  std::vector<int32_t> transitions_;  // rows of next states, one entry per class
  std::vector<uint8_t> accepting_;
  std::vector<uint8_t> reads_bytes_;  // any byte leads somewhere
  std::vector<uint32_t> call_begin_;  // per state, and one past the last
  std::vector<Call> calls_;
};

}  // namespace rs::grammar
