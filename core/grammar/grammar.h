#pragma once
// A grammar over bytes: named rules, each an expression of byte sets,
// sequences, choices, bounded repetitions and references to rules. JSON
// Schema, regular expressions and GBNF all compile to this one form; the
// automaton (automaton.h) turns it into what the matcher runs.
//
// Expressions are plain data in one table and refer to each other by index,
// so a front end builds bottom-up and shares a part by using its id twice.
// Text is bytes: code_points() spells Unicode ranges as their UTF-8 encodings.
#include <bitset>
#include <cstdint>
#include <limits>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace rs::grammar {

// What is wrong with a grammar, schema or regex, or which feature it uses that
// is not supported, in words a 400 can carry.
class GrammarError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

using ByteSet = std::bitset<256>;
using ExprId = uint32_t;
using RuleId = uint32_t;

inline constexpr uint32_t kUnbounded = std::numeric_limits<uint32_t>::max();  // repeat's max: no limit
inline constexpr RuleId kNoRule = std::numeric_limits<RuleId>::max();

enum class ExprKind : uint8_t {
  bytes,     // one byte of `bytes` (an empty set matches nothing)
  sequence,  // `items` one after the other (none: the empty string)
  choice,    // any one of `items` (none: nothing matches)
  repeat,    // items[0], between `min` and `max` times
  rule,      // the rule `rule`
};

struct Expr {
  ExprKind kind = ExprKind::sequence;
  ByteSet bytes;
  std::vector<ExprId> items;
  uint32_t min = 0, max = 0;
  RuleId rule = kNoRule;
};

struct Rule {
  std::string name;
  ExprId body = 0;
  bool defined = false;
};

// An inclusive range of Unicode code points.
struct CodePointRange {
  char32_t first, last;
};

class Grammar {
 public:
  ExprId bytes(const ByteSet& set);
  ExprId byte(uint8_t b);
  ExprId byte_range(uint8_t first, uint8_t last);
  ExprId literal(std::string_view text);  // its bytes in order
  ExprId sequence(std::vector<ExprId> items);
  ExprId choice(std::vector<ExprId> items);
  ExprId repeat(ExprId item, uint32_t min, uint32_t max);  // min ≤ max; throws GrammarError otherwise
  ExprId optional(ExprId item) { return repeat(item, 0, 1); }
  ExprId empty() { return sequence({}); }
  ExprId nothing() { return choice({}); }
  // The UTF-8 encoding of any one code point in `ranges` (surrogates
  // U+D800..U+DFFF and anything above U+10FFFF never match): valid UTF-8 only.
  ExprId code_points(std::span<const CodePointRange> ranges);
  // Any code point except those in `ranges`.
  ExprId code_points_except(std::span<const CodePointRange> ranges);
  ExprId reference(RuleId rule);

  // A rule is declared first (so rules can refer to each other) and defined
  // once. Names are unique: a second declaration of a name returns the first.
  RuleId declare(std::string_view name);
  void define(RuleId rule, ExprId body);  // throws GrammarError when already defined
  RuleId add_rule(std::string_view name, ExprId body) {
    const RuleId rule = declare(name);
    define(rule, body);
    return rule;
  }
  // A name not yet used, from `base` ("string" → "string", then "string-2", …).
  std::string fresh_name(std::string_view base) const;
  RuleId find(std::string_view name) const;  // kNoRule when absent
  void set_root(RuleId rule) { root_ = rule; }

  RuleId root() const { return root_; }
  const Expr& expr(ExprId id) const { return exprs_[id]; }
  const Rule& rule(RuleId id) const { return rules_[id]; }
  size_t expr_count() const { return exprs_.size(); }
  size_t rule_count() const { return rules_.size(); }

  // Throws GrammarError naming the first rule referred to but never defined,
  // or the missing root.
  void check_complete() const;
  // The grammar in GBNF's notation, one rule per line, root first: for
  // messages and tests (bytes above 0x7F print as \xHH, which GBNF would
  // read as code points).
  std::string to_gbnf() const;

 private:
  ExprId add(Expr expr);

  std::vector<Expr> exprs_;
  std::vector<Rule> rules_;
  std::unordered_map<std::string, RuleId> rule_ids_;  // by name: grammars of many rules declare fast
  RuleId root_ = kNoRule;
};

// Whether the whole of `text` is in the language of `grammar`'s root: a plain
// recursive matcher (memoised by expression and offset) that is the
// specification the automaton is tested against. For tests and short texts;
// a left-recursive grammar throws GrammarError.
bool matches(const Grammar& grammar, std::string_view text);

}  // namespace rs::grammar
