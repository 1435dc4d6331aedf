#include "core/grammar/gbnf.h"

#include <cctype>
#include <string>
#include <vector>

#include "core/grammar/left_recursion.h"
#include "core/grammar/text_reader.h"

namespace rs::grammar {
namespace {

// Bounds against hostile grammars: each character of the text adds at most a few expressions.
constexpr size_t kMaxTextBytes = 256 * 1024;
constexpr size_t kMaxDepth = 100;     // parentheses inside parentheses
constexpr uint32_t kMaxCount = 1000;  // the largest m or n of {m,n}

bool is_name_char(char c) { return std::isalnum(uint8_t(c)) || c == '-' || c == '_'; }

class GbnfParser : TextReader {
 public:
  explicit GbnfParser(std::string_view text) : TextReader(text) {}

  Grammar parse() {
    if (text_.size() > kMaxTextBytes) {
      throw GrammarError("a GBNF grammar longer than " + std::to_string(kMaxTextBytes) + " bytes is not supported");
    }
    skip_space(true);
    while (!at_end()) rule();
    for (RuleId r = 0; r < grammar_.rule_count(); ++r) {
      if (!grammar_.rule(r).defined) fail(first_use_[r], "undefined rule '" + grammar_.rule(r).name + "'");
    }
    const RuleId root = grammar_.find("root");
    if (root == kNoRule) throw GrammarError("GBNF: the grammar has no rule 'root'");
    grammar_.set_root(root);
    check_no_left_recursion(grammar_);
    return std::move(grammar_);
  }

 private:
  [[noreturn]] void fail(size_t offset, const std::string& what) const override {
    size_t line = 1, column = 1;
    for (size_t i = 0; i < offset; ++i) {
      if (text_[i] == '\n') {
        ++line, column = 1;
      } else if ((uint8_t(text_[i]) & 0xC0) != 0x80) {  // columns count characters, not UTF-8 bytes
        ++column;
      }
    }
    throw GrammarError("GBNF line " + std::to_string(line) + ", column " + std::to_string(column) + ": " + what);
  }

  // What is at pos_, for "expected …, found …".
  std::string found() {
    if (at_end()) return "the end of the text";
    const size_t start = pos_;
    const char32_t c = next_char();
    pos_ = start;
    return c == '\n' || c == '\r' ? "the end of the line" : describe(c);
  }

  // Spaces, tabs and comments, and newlines where the rule goes on past them:
  // after "::=" and '|' and inside parentheses, where llama.cpp allows them.
  void skip_space(bool newlines) {
    while (!at_end()) {
      const char c = peek();
      if (c == '#') {
        while (!at_end() && peek() != '\n' && peek() != '\r') ++pos_;
      } else if (c == ' ' || c == '\t' || (newlines && (c == '\n' || c == '\r'))) {
        ++pos_;
      } else {
        return;
      }
    }
  }

  // The rule named `name`, declared by its first use at `offset` if new.
  RuleId rule_named(std::string_view name, size_t offset) {
    const RuleId rule = grammar_.declare(name);
    if (rule == first_use_.size()) first_use_.push_back(offset);
    return rule;
  }

  std::string_view name() {
    const size_t start = pos_;
    while (is_name_char(peek())) ++pos_;
    if (pos_ == start) {
      // Most often a rule's next line that llama.cpp would also read as a new rule.
      const bool continued = peek() == '|' || peek() == '"' || peek() == '[' || peek() == '(';
      fail(start,
           "expected a rule name, found " + found() +
               (continued ? " (a rule goes on past a newline only after '::=' or '|' or inside parentheses)" : ""));
    }
    return text_.substr(start, pos_ - start);
  }

  // name ::= alternatives, up to the end of its line (or of the text).
  void rule() {
    const size_t start = pos_;
    const std::string_view rule_name = name();
    skip_space(false);
    if (!eat("::=")) fail(pos_, "expected '::=', found " + found());
    skip_space(true);
    const RuleId rule = rule_named(rule_name, start);
    if (grammar_.rule(rule).defined) fail(start, "rule '" + std::string(rule_name) + "' is defined twice");
    grammar_.define(rule, alternatives(false, 0));
    if (!at_end() && !eat('\n') && !eat('\r')) fail(pos_, "expected the end of the line, found " + found());
    skip_space(true);
  }

  // `nested`: inside parentheses, where newlines are spaces.
  ExprId alternatives(bool nested, size_t depth) {
    std::vector<ExprId> options{sequence(nested, depth)};
    while (eat('|')) {
      skip_space(true);
      options.push_back(sequence(nested, depth));
    }
    return grammar_.choice(std::move(options));
  }

  ExprId sequence(bool nested, size_t depth) {
    std::vector<ExprId> items;
    while (!at_end()) {
      const size_t start = pos_;
      const char c = peek();
      if (c == '"') {
        items.push_back(literal());
      } else if (c == '[') {
        items.push_back(char_class());
      } else if (c == '.') {
        ++pos_;
        items.push_back(grammar_.code_points_except({}));
      } else if (c == '(') {
        items.push_back(group(depth));
      } else if (is_name_char(c)) {
        items.push_back(grammar_.reference(rule_named(name(), start)));
      } else if (c == '*' || c == '+' || c == '?' || c == '{') {
        if (items.empty()) fail(start, std::string("nothing to repeat before '") + c + "'");
        items.back() = repetition(items.back(), nested);
      } else {
        break;
      }
      skip_space(nested);
    }
    return grammar_.sequence(std::move(items));
  }

  ExprId literal() {
    const size_t start = pos_++;
    std::vector<ExprId> characters;
    while (!eat('"')) {
      if (at_end()) fail(start, "unterminated string");
      characters.push_back(grammar_.code_points(CharSet::one(character()).ranges));
    }
    return grammar_.sequence(std::move(characters));
  }

  ExprId char_class() {
    const size_t start = pos_++;
    const bool negated = eat('^');
    const std::vector<CodePointRange> ranges = class_ranges(start);
    return negated ? grammar_.code_points_except(ranges) : grammar_.code_points(ranges);
  }

  CharSet class_member() override { return CharSet::one(character()); }

  // One character of a string or a class: itself, or an escape.
  char32_t character() {
    const size_t start = pos_;
    if (!eat('\\')) return next_char();
    if (at_end()) fail(start, "unterminated escape");
    const char32_t c = next_char();
    switch (c) {
      case 'x': return hex_digits(2, 2, start);
      case 'u': return hex_digits(4, 4, start);
      case 'U': return hex_digits(8, 8, start);
      case 'n': return '\n';
      case 'r': return '\r';
      case 't': return '\t';
    }
    if (c != '\\' && c != '"' && c != '[' && c != ']') fail(start, "unknown escape: a backslash before " + describe(c));
    return c;
  }

  ExprId group(size_t depth) {
    const size_t start = pos_++;
    if (depth + 1 > kMaxDepth) fail(start, "parentheses nested deeper than " + std::to_string(kMaxDepth));
    skip_space(true);
    const ExprId body = alternatives(true, depth + 1);
    if (!eat(')')) fail(pos_, "expected ')', found " + found());
    return body;
  }

  // `item` under the quantifier at pos_: * + ? {m} {m,} {m,n}.
  ExprId repetition(ExprId item, bool nested) {
    const size_t start = pos_;
    if (eat('*')) return grammar_.repeat(item, 0, kUnbounded);
    if (eat('+')) return grammar_.repeat(item, 1, kUnbounded);
    if (eat('?')) return grammar_.optional(item);
    ++pos_;  // the '{'
    skip_space(nested);
    const uint32_t min = count(nested);
    uint32_t max = min;
    if (eat(',')) {
      skip_space(nested);
      max = is_digit(peek()) ? count(nested) : kUnbounded;
    }
    if (!eat('}')) fail(pos_, "expected '}', found " + found());
    const std::string written(text_.substr(start, pos_ - start));
    if (min > max) fail(start, "repetition " + written + " has its minimum above its maximum");
    if (min > kMaxCount || (max != kUnbounded && max > kMaxCount)) {
      fail(start, "repetition " + written + " counts above " + std::to_string(kMaxCount) + ", which is not supported");
    }
    return grammar_.repeat(item, min, max);
  }

  // A repetition's count and the space after it.
  uint32_t count(bool nested) {
    if (!is_digit(peek())) fail(pos_, "expected a number, found " + found());
    const uint32_t value = number(kMaxCount + 1);
    skip_space(nested);
    return value;
  }

  Grammar grammar_;
  std::vector<size_t> first_use_;  // per rule, where the text first names it
};

}  // namespace

Grammar parse_gbnf(std::string_view text) { return GbnfParser(text).parse(); }

}  // namespace rs::grammar
