#include "core/grammar/automaton.h"

#include <algorithm>
#include <map>
#include <string>
#include <unordered_map>

#include "core/grammar/left_recursion.h"

namespace rs::grammar {
// Each rule as an NFA, and the bounds on building them. Named, not anonymous: AutomatonBuilder, a friend of
// Automaton and so of external linkage, holds them.
namespace rule_nfa {

constexpr size_t kMaxNfaSize = 500'000;    // NFA nodes and edges, over all rules
constexpr size_t kMaxVisits = 10'000'000;  // NFA nodes, edges and byte sets visited making states, all rules
constexpr size_t kMaxInlineDepth = 256;    // rules expanded inside rules

// What one compile has done, bounded so that any grammar compiles or is refused in well under a second: bounds on
// each rule's automaton alone let a grammar of a few lines take seconds (repetitions nested in repetitions, or
// many rules each under the bounds).
class Work {
 public:
  void made(size_t units) {
    if ((made_ += units) > kMaxNfaSize) {
      throw GrammarError("the grammar is too large (more than " + std::to_string(kMaxNfaSize) +
                         " automaton nodes and edges): simplify it or lower its repetition counts");
    }
  }
  void visited(size_t units) {
    if ((visited_ += units) > kMaxVisits) {
      throw GrammarError("the grammar is too large to compile (more than " + std::to_string(kMaxVisits) +
                         " steps building its automaton): simplify it or lower its repetition counts");
    }
  }

 private:
  size_t made_ = 0, visited_ = 0;
};

// The rules that call themselves, directly or through others (they must stay rules).
std::vector<bool> recursive_rules(const Grammar& g) {
  const size_t n = g.rule_count();
  std::vector<std::vector<RuleId>> refs(n);
  for (RuleId r = 0; r < n; ++r) {
    std::vector<ExprId> todo{g.rule(r).body};
    std::vector<bool> seen(g.expr_count());
    while (!todo.empty()) {
      const ExprId e = todo.back();
      todo.pop_back();
      if (seen[e]) continue;
      seen[e] = true;
      const Expr& x = g.expr(e);
      if (x.kind == ExprKind::rule) refs[r].push_back(x.rule);
      for (const ExprId item : x.items) todo.push_back(item);
    }
  }
  // Tarjan's strongly connected components, iteratively.
  std::vector<int> index(n, -1), low(n, 0);
  std::vector<bool> on_stack(n), recursive(n);
  std::vector<RuleId> stack;
  int counter = 0;
  for (RuleId root = 0; root < n; ++root) {
    if (index[root] >= 0) continue;
    std::vector<std::pair<RuleId, size_t>> frames{{root, 0}};
    index[root] = low[root] = counter++;
    stack.push_back(root);
    on_stack[root] = true;
    while (!frames.empty()) {
      auto& [r, next] = frames.back();
      if (next < refs[r].size()) {
        const RuleId s = refs[r][next++];
        if (s == r) recursive[r] = true;
        if (index[s] < 0) {
          index[s] = low[s] = counter++;
          stack.push_back(s);
          on_stack[s] = true;
          frames.emplace_back(s, 0);
        } else if (on_stack[s]) {
          low[r] = std::min(low[r], index[s]);
        }
        continue;
      }
      const RuleId done = r;
      frames.pop_back();
      if (!frames.empty()) low[frames.back().first] = std::min(low[frames.back().first], low[done]);
      if (low[done] != index[done]) continue;
      std::vector<RuleId> component;
      RuleId member;
      do {
        member = stack.back();
        stack.pop_back();
        on_stack[member] = false;
        component.push_back(member);
      } while (member != done);
      if (component.size() > 1) {
        for (const RuleId m : component) recursive[m] = true;
      }
    }
  }
  return recursive;
}

// Whether `rule`'s own body (not the rules it refers to) repeats something without bound.
bool repeats_without_bound(const Grammar& g, RuleId rule) {
  std::vector<ExprId> todo{g.rule(rule).body};
  while (!todo.empty()) {
    const Expr& e = g.expr(todo.back());
    todo.pop_back();
    if (e.kind == ExprKind::repeat && e.max == kUnbounded) return true;
    if (e.kind != ExprKind::rule) todo.insert(todo.end(), e.items.begin(), e.items.end());
  }
  return false;
}

// The rules that stay rules, called where they are used: the recursive ones, and the unbounded ones used in
// more than one place (a JSON string, a number), so the masks of their states are computed once for all their
// uses rather than once per use. Every other rule is expanded where it is used.
std::vector<bool> rules_kept_as_calls(const Grammar& g) {
  std::vector<bool> kept = recursive_rules(g);
  std::vector<uint32_t> uses(g.rule_count());
  for (ExprId e = 0; e < g.expr_count(); ++e) {
    if (g.expr(e).kind == ExprKind::rule) ++uses[g.expr(e).rule];
  }
  for (RuleId r = 0; r < g.rule_count(); ++r) {
    if (uses[r] > 1 && repeats_without_bound(g, r)) kept[r] = true;
  }
  return kept;
}

// Thompson's construction of one rule, with the rules not kept as calls expanded in place.
struct Nfa {
  struct Node {
    std::vector<uint32_t> empty;                       // ε edges
    std::vector<std::pair<uint32_t, uint32_t>> bytes;  // (index into sets, to)
    std::vector<std::pair<RuleId, uint32_t>> calls;    // (rule, to)
  };
  std::vector<Node> nodes;
  std::vector<ByteSet> sets;
  uint32_t start = 0, accept = 0;

  uint32_t add_node() {
    nodes.emplace_back();
    return uint32_t(nodes.size() - 1);
  }
};

class NfaBuilder {
 public:
  NfaBuilder(const Grammar& g, const std::vector<bool>& called, Work& work) : g_(g), called_(called), work_(work) {}

  Nfa build(RuleId rule) {
    nfa_ = Nfa{};
    nfa_.start = add_node();
    nfa_.accept = add_node();
    set_index_.clear();
    depth_ = 0;
    add(g_.rule(rule).body, nfa_.start, nfa_.accept);
    return std::move(nfa_);
  }

 private:
  void add(ExprId id, uint32_t from, uint32_t to) {
    const Expr& e = g_.expr(id);
    switch (e.kind) {
      case ExprKind::bytes:
        if (e.bytes.any()) {
          work_.made(1);
          nfa_.nodes[from].bytes.emplace_back(set_of(e.bytes), to);
        }
        return;
      case ExprKind::sequence: {
        if (e.items.empty()) {
          add_empty(from, to);
          return;
        }
        uint32_t at = from;
        for (size_t i = 0; i < e.items.size(); ++i) {
          const uint32_t next = i + 1 == e.items.size() ? to : add_node();
          add(e.items[i], at, next);
          at = next;
        }
        return;
      }
      case ExprKind::choice:
        for (const ExprId item : e.items) add(item, from, to);
        return;
      case ExprKind::repeat: add_repeat(e, from, to); return;
      case ExprKind::rule:
        if (called_[e.rule]) {
          work_.made(1);
          nfa_.nodes[from].calls.emplace_back(e.rule, to);
          return;
        }
        if (++depth_ > kMaxInlineDepth) {
          throw GrammarError("rules nest more than " + std::to_string(kMaxInlineDepth) + " deep");
        }
        add(g_.rule(e.rule).body, from, to);
        --depth_;
        return;
    }
  }

  // Fresh nodes around every copy, so no loop shares a node with what surrounds it.
  void add_repeat(const Expr& e, uint32_t from, uint32_t to) {
    const ExprId item = e.items[0];
    uint32_t at = from;
    for (uint32_t i = 0; i < e.min; ++i) {
      const uint32_t next = add_node();
      add(item, at, next);
      at = next;
    }
    if (e.max == kUnbounded) {
      const uint32_t loop = add_node();
      add_empty(at, loop);
      const uint32_t back = add_node();
      add(item, loop, back);
      add_empty(back, loop);
      add_empty(loop, to);
      return;
    }
    for (uint32_t i = e.min; i < e.max; ++i) {
      add_empty(at, to);
      const uint32_t next = add_node();
      add(item, at, next);
      at = next;
    }
    add_empty(at, to);
  }

  uint32_t add_node() {
    work_.made(1);
    return nfa_.add_node();
  }

  void add_empty(uint32_t from, uint32_t to) {
    work_.made(1);
    nfa_.nodes[from].empty.push_back(to);
  }

  uint32_t set_of(const ByteSet& set) {
    const auto [it, added] = set_index_.try_emplace(set, uint32_t(nfa_.sets.size()));
    if (added) nfa_.sets.push_back(set);
    return it->second;
  }

  const Grammar& g_;
  const std::vector<bool>& called_;
  Work& work_;
  Nfa nfa_;
  std::unordered_map<ByteSet, uint32_t> set_index_;
  size_t depth_ = 0;
};

}  // namespace rule_nfa

// Subset construction of each rule's NFA, into the Automaton's flat tables.
class AutomatonBuilder {
 public:
  explicit AutomatonBuilder(const Grammar& g)
      : g_(g), called_(rule_nfa::rules_kept_as_calls(g)), nfa_builder_(g, called_, work_) {}

  Automaton build() {
    start_of_.assign(g_.rule_count(), kUnbuilt);
    std::vector<RuleId> todo{g_.root()};
    start_of_[g_.root()] = kQueued;
    while (!todo.empty()) {
      const RuleId rule = todo.back();
      todo.pop_back();
      add_rule(rule, todo);
    }
    for (Automaton::Call& call : a_.calls_) call.callee = start_of_[call.callee];  // rule ids until now
    a_.start_ = start_of_[g_.root()];
    a_.call_begin_.push_back(uint32_t(a_.calls_.size()));
    trim();
    return std::move(a_);
  }

 private:
  static constexpr uint32_t kUnbuilt = UINT32_MAX, kQueued = UINT32_MAX - 1;

  // Drops every transition and call into a state from which no match can finish (past an empty character class, in
  // a rule that never ends), so that no mask allows a token that leads nowhere; a grammar whose start is such a
  // state matches no text and is refused. Live states: the accepting ones, and those with a transition to a live
  // state or a call whose callee's start and return state are both live; found backwards from the accepting ones.
  void trim() {
    const uint32_t n = uint32_t(a_.state_count());
    const auto row_end = [&](uint32_t s) { return s + 1 < n ? a_.row_[s + 1] : uint32_t(a_.transitions_.size()); };
    std::vector<std::vector<uint32_t>> before(n);   // per state: the states with a transition into it
    std::vector<std::vector<uint32_t>> waiting(n);  // per state: the calls it is the callee's start or the return of
    std::vector<uint32_t> caller(a_.calls_.size());
    for (uint32_t s = 0; s < n; ++s) {
      for (uint32_t i = a_.row_[s]; i < row_end(s); ++i) {
        if (a_.transitions_[i] != Automaton::kDead) before[uint32_t(a_.transitions_[i])].push_back(s);
      }
      for (uint32_t c = a_.call_begin_[s]; c < a_.call_begin_[s + 1]; ++c) {
        caller[c] = s;
        waiting[a_.calls_[c].callee].push_back(c);
        waiting[a_.calls_[c].next].push_back(c);
      }
    }
    std::vector<uint8_t> live(n, 0);
    std::vector<uint32_t> todo;
    const auto mark = [&](uint32_t s) {
      if (!live[s]) {
        live[s] = 1;
        todo.push_back(s);
      }
    };
    for (uint32_t s = 0; s < n; ++s) {
      if (a_.accepting_[s]) mark(s);
    }
    while (!todo.empty()) {
      const uint32_t s = todo.back();
      todo.pop_back();
      for (const uint32_t from : before[s]) mark(from);
      for (const uint32_t c : waiting[s]) {
        if (live[a_.calls_[c].callee] && live[a_.calls_[c].next]) mark(caller[c]);
      }
    }
    if (!live[a_.start_]) {
      throw GrammarError("the grammar matches no text: no way through it reaches its end (an empty character class, "
                         "or a rule that never finishes?)");
    }
    for (uint32_t s = 0; s < n; ++s) {
      bool reads_bytes = false;
      for (uint32_t i = a_.row_[s]; i < row_end(s); ++i) {
        int32_t& next = a_.transitions_[i];
        if (next != Automaton::kDead && !live[uint32_t(next)]) next = Automaton::kDead;
        reads_bytes |= next != Automaton::kDead;
      }
      a_.reads_bytes_[s] = reads_bytes;
    }
    std::vector<Automaton::Call> calls;
    std::vector<uint32_t> call_begin;
    for (uint32_t s = 0; s < n; ++s) {
      call_begin.push_back(uint32_t(calls.size()));
      for (uint32_t c = a_.call_begin_[s]; c < a_.call_begin_[s + 1]; ++c) {
        if (live[a_.calls_[c].callee] && live[a_.calls_[c].next]) calls.push_back(a_.calls_[c]);
      }
    }
    call_begin.push_back(uint32_t(calls.size()));
    a_.calls_ = std::move(calls);
    a_.call_begin_ = std::move(call_begin);
  }

  void add_rule(RuleId rule, std::vector<RuleId>& todo) {
    const rule_nfa::Nfa nfa = nfa_builder_.build(rule);
    seen_.assign(nfa.nodes.size(), false);
    const uint32_t classes = add_byte_classes(nfa);
    const uint32_t class_map = uint32_t(a_.class_of_.size() / 256 - 1);

    const uint32_t first = uint32_t(a_.accepting_.size());
    std::map<std::vector<uint32_t>, uint32_t> ids;  // NFA node set → global state
    std::vector<std::vector<uint32_t>> pending;     // in the order of their ids
    const auto state_of = [&](std::vector<uint32_t> nodes) -> int32_t {
      if (nodes.empty()) return Automaton::kDead;
      close(nfa, nodes);
      const auto [it, added] = ids.try_emplace(nodes, uint32_t(first + pending.size()));
      if (added) {
        if (it->second >= Automaton::kMaxStates) {
          throw GrammarError("the grammar is too large (more than " + std::to_string(Automaton::kMaxStates) +
                             " automaton states): simplify it or lower its repetition counts");
        }
        pending.push_back(nodes);
      }
      return int32_t(it->second);
    };
    start_of_[rule] = uint32_t(state_of({nfa.start}));
    bool calls = false;
    for (size_t done = 0; done < pending.size(); ++done) {
      const std::vector<uint32_t> nodes = pending[done];  // a copy: state_of appends to pending
      std::vector<int32_t> row(classes, Automaton::kDead);
      bool reads_bytes = false;
      for (uint32_t c = 0; c < classes; ++c) {
        work_.visited(nodes.size());
        std::vector<uint32_t> targets;
        for (const uint32_t n : nodes) {
          for (const auto& [set, to] : nfa.nodes[n].bytes) {
            if (nfa.sets[set][representative_[c]]) targets.push_back(to);
          }
        }
        row[c] = state_of(std::move(targets));
        reads_bytes |= row[c] != Automaton::kDead;
      }
      std::map<RuleId, std::vector<uint32_t>> returns;
      for (const uint32_t n : nodes) {
        for (const auto& [callee, to] : nfa.nodes[n].calls) returns[callee].push_back(to);
      }
      a_.call_begin_.push_back(uint32_t(a_.calls_.size()));
      calls |= !returns.empty();
      for (auto& [callee, targets] : returns) {
        a_.calls_.push_back({callee, uint32_t(state_of(std::move(targets)))});
        if (start_of_[callee] == kUnbuilt) {
          start_of_[callee] = kQueued;
          todo.push_back(callee);
        }
      }
      a_.row_.push_back(uint32_t(a_.transitions_.size()));
      a_.transitions_.insert(a_.transitions_.end(), row.begin(), row.end());
      a_.class_map_.push_back(class_map);
      a_.accepting_.push_back(std::binary_search(nodes.begin(), nodes.end(), nfa.accept));
      a_.reads_bytes_.push_back(reads_bytes);
    }
    a_.rule_calls_.push_back(calls);
  }

  // Bytes that every edge of `nfa` treats alike share a class; returns how many classes.
  uint32_t add_byte_classes(const rule_nfa::Nfa& nfa) {
    std::vector<uint32_t> klass(256, 0);
    uint32_t count = 1;
    for (const ByteSet& set : nfa.sets) {
      work_.visited(256);
      std::map<std::pair<uint32_t, bool>, uint32_t> split;
      for (unsigned b = 0; b < 256; ++b) {
        const auto [it, added] = split.try_emplace({klass[b], set[b]}, uint32_t(split.size()));
        klass[b] = it->second;
      }
      count = uint32_t(split.size());
    }
    if (count > 256) throw std::logic_error("more byte classes than bytes");
    representative_.assign(count, 0);
    for (unsigned b = 256; b-- > 0;) representative_[klass[b]] = uint8_t(b);
    for (unsigned b = 0; b < 256; ++b) a_.class_of_.push_back(uint8_t(klass[b]));
    return count;
  }

  // `nodes` with every node reachable by ε edges, sorted.
  void close(const rule_nfa::Nfa& nfa, std::vector<uint32_t>& nodes) {
    std::vector<uint32_t> todo = nodes;
    nodes.clear();
    while (!todo.empty()) {
      const uint32_t n = todo.back();
      todo.pop_back();
      if (seen_[n]) continue;
      seen_[n] = true;
      work_.visited(1 + nfa.nodes[n].empty.size());
      nodes.push_back(n);
      for (const uint32_t m : nfa.nodes[n].empty) todo.push_back(m);
    }
    for (const uint32_t n : nodes) seen_[n] = false;  // cleared for the next closure without a pass over every node
    std::sort(nodes.begin(), nodes.end());
  }

  const Grammar& g_;
  std::vector<bool> called_;
  rule_nfa::Work work_;
  rule_nfa::NfaBuilder nfa_builder_;
  Automaton a_;
  std::vector<uint32_t> start_of_;  // per rule: its start state, kQueued or kUnbuilt
  std::vector<uint8_t> representative_;
  std::vector<bool> seen_;  // per node of the rule's NFA: reached by the closure being taken
};

Automaton Automaton::compile(const Grammar& grammar) {
  grammar.check_complete();
  check_no_left_recursion(grammar);
  return AutomatonBuilder(grammar).build();
}

size_t Automaton::bytes() const {
  return class_of_.capacity() + class_map_.capacity() * sizeof(uint32_t) + rule_calls_.capacity() +
         row_.capacity() * sizeof(uint32_t) + transitions_.capacity() * sizeof(int32_t) + accepting_.capacity() +
         reads_bytes_.capacity() + call_begin_.capacity() * sizeof(uint32_t) + calls_.capacity() * sizeof(Call);
}

}  // namespace rs::grammar
