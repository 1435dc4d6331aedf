#include "core/grammar/left_recursion.h"

#include <algorithm>
#include <string>
#include <vector>

namespace rs::grammar {
namespace {

// Which expressions can match the empty string. Rules refer to each other in
// cycles, so this repeats until nothing changes (it only ever adds).
std::vector<bool> nullable_exprs(const Grammar& grammar) {
  std::vector<bool> nullable(grammar.expr_count());
  const auto is_nullable = [&](ExprId id) { return bool(nullable[id]); };
  for (bool changed = true; changed;) {
    changed = false;
    for (ExprId id = 0; id < grammar.expr_count(); ++id) {
      if (nullable[id]) continue;
      const Expr& e = grammar.expr(id);
      bool now = false;
      switch (e.kind) {
        case ExprKind::bytes: break;
        case ExprKind::sequence: now = std::all_of(e.items.begin(), e.items.end(), is_nullable); break;
        case ExprKind::choice: now = std::any_of(e.items.begin(), e.items.end(), is_nullable); break;
        case ExprKind::repeat: now = e.min == 0 || nullable[e.items[0]]; break;
        case ExprKind::rule: {
          const Rule& rule = grammar.rule(e.rule);
          now = rule.defined && nullable[rule.body];
          break;
        }
      }
      if (now) nullable[id] = changed = true;
    }
  }
  return nullable;
}

// The rules expression `id` can enter before it consumes a byte. `walked`
// holds, per expression, the last rule whose walk visited it (shared parts are walked once per rule).
void leading_rules(const Grammar& grammar, const std::vector<bool>& nullable, ExprId id, RuleId walker,
                   std::vector<RuleId>& walked, std::vector<RuleId>& out) {
  if (walked[id] == walker) return;
  walked[id] = walker;
  const Expr& e = grammar.expr(id);
  switch (e.kind) {
    case ExprKind::bytes: break;
    case ExprKind::sequence:
      for (const ExprId item : e.items) {
        leading_rules(grammar, nullable, item, walker, walked, out);
        if (!nullable[item]) break;
      }
      break;
    case ExprKind::choice:
      for (const ExprId item : e.items) leading_rules(grammar, nullable, item, walker, walked, out);
      break;
    case ExprKind::repeat:
      if (e.max > 0) leading_rules(grammar, nullable, e.items[0], walker, walked, out);
      break;
    case ExprKind::rule: out.push_back(e.rule); break;
  }
}

}  // namespace

void check_no_left_recursion(const Grammar& grammar) {
  const std::vector<bool> nullable = nullable_exprs(grammar);
  const size_t rule_count = grammar.rule_count();
  // The graph "rule r can enter rule s without consuming": left recursion is a cycle in it.
  std::vector<std::vector<RuleId>> enters(rule_count), entered_by(rule_count);
  std::vector<RuleId> walked(grammar.expr_count(), kNoRule);
  for (RuleId r = 0; r < rule_count; ++r) {
    if (grammar.rule(r).defined) leading_rules(grammar, nullable, grammar.rule(r).body, r, walked, enters[r]);
    for (const RuleId s : enters[r]) entered_by[s].push_back(r);
  }
  // Clear rules that enter only cleared rules (Kahn's algorithm, no recursion however long the chains);
  // what is left can reach a cycle.
  std::vector<size_t> uncleared_exits(rule_count);
  std::vector<RuleId> cleared;
  for (RuleId r = 0; r < rule_count; ++r) {
    uncleared_exits[r] = enters[r].size();
    if (uncleared_exits[r] == 0) cleared.push_back(r);
  }
  for (size_t i = 0; i < cleared.size(); ++i) {
    for (const RuleId r : entered_by[cleared[i]]) {
      if (--uncleared_exits[r] == 0) cleared.push_back(r);
    }
  }
  if (cleared.size() == rule_count) return;
  // Follow uncleared rules until one repeats: the path from its first visit is a cycle.
  RuleId at = 0;
  while (uncleared_exits[at] == 0) ++at;
  std::vector<RuleId> path;
  std::vector<size_t> position(rule_count, rule_count);
  while (position[at] == rule_count) {
    position[at] = path.size();
    path.push_back(at);
    at = *std::find_if(enters[at].begin(), enters[at].end(), [&](RuleId s) { return uncleared_exits[s] > 0; });
  }
  std::string cycle;
  for (size_t i = position[at]; i < path.size(); ++i) cycle += grammar.rule(path[i]).name + " -> ";
  throw GrammarError("rule '" + grammar.rule(at).name + "' is left-recursive: " + cycle + grammar.rule(at).name);
}

}  // namespace rs::grammar
