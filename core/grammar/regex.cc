#include "core/grammar/regex.h"

#include <cctype>
#include <string>
#include <utility>
#include <vector>

#include "core/grammar/text_reader.h"

namespace rs::grammar {
namespace {

// Bounds against hostile patterns: each part of the pattern adds a few expressions, none is expanded.
constexpr size_t kMaxPatternBytes = 64 * 1024;
constexpr size_t kMaxGroupDepth = 100;     // groups inside groups
constexpr uint32_t kMaxRepeat = 1000;  // the largest m or n of {m,n}

// ASCII, as ECMAScript (JSON Schema's dialect) has \d and \w; \s is kept to
// ASCII whitespace too, so that generated text never holds exotic spaces.
constexpr CodePointRange kDigit[] = {{'0', '9'}};
constexpr CodePointRange kWord[] = {{'0', '9'}, {'A', 'Z'}, {'_', '_'}, {'a', 'z'}};
constexpr CodePointRange kSpace[] = {{'\t', '\r'}, {' ', ' '}};
constexpr CodePointRange kNewline[] = {{'\n', '\n'}};

// Group openings after "(?" that change what matches in ways a grammar cannot say.
constexpr std::pair<std::string_view, std::string_view> kUnsupportedGroups[] = {{"=", "lookahead (?="},
                                                                                {"!", "negative lookahead (?!"},
                                                                                {"<=", "lookbehind (?<="},
                                                                                {"<!", "negative lookbehind (?<!"},
                                                                                {"P=", "named backreference (?P="},
                                                                                {">", "atomic group (?>"},
                                                                                {"#", "comment group (?#"},
                                                                                {"(", "conditional group (?("}};

CharSet set_of(std::span<const CodePointRange> ranges) { return {{ranges.begin(), ranges.end()}, false}; }

// Every code point outside `sorted` (sorted, disjoint ranges).
CharSet complement_of(std::span<const CodePointRange> sorted) {
  CharSet out;
  char32_t next = 0;
  for (const CodePointRange r : sorted) {
    if (r.first > next) out.ranges.push_back({next, r.first - 1});
    next = r.last + 1;
  }
  out.ranges.push_back({next, 0x10FFFF});
  return out;
}

constexpr std::string_view kFlags = "aiLmsux-";  // Python's letters for (?flags) and (?flags:…)

class RegexParser : TextReader {
 public:
  RegexParser(Grammar& grammar, std::string_view pattern) : TextReader(pattern), grammar_(grammar) {}

  ExprId parse() {
    if (text_.size() > kMaxPatternBytes) {
      throw GrammarError("a regex longer than " + std::to_string(kMaxPatternBytes) + " bytes is not supported");
    }
    const ExprId body = alternation(0);
    if (!at_end()) fail(pos_, "unbalanced ')'");  // alternation() stops early only at a ')'
    return body;
  }

 private:
  [[noreturn]] void fail(size_t offset, const std::string& what) const override {
    throw GrammarError("invalid regex: " + what + " at offset " + std::to_string(offset));
  }
  [[noreturn]] void unsupported(size_t offset, std::string_view feature) const {
    throw GrammarError(std::string(feature) + " at offset " + std::to_string(offset) + " is not supported");
  }

  ExprId alternation(size_t depth) {
    std::vector<ExprId> options{sequence(depth)};
    while (eat('|')) options.push_back(sequence(depth));
    return grammar_.choice(std::move(options));
  }

  ExprId sequence(size_t depth) {
    // The whole pattern is anchored at both ends, so ^ and $ written there change nothing.
    if (depth == 0) eat('^');
    std::vector<ExprId> items;
    while (!at_end() && peek() != '|' && peek() != ')') {
      if (depth == 0 && peek() == '$' && (pos_ + 1 == text_.size() || peek(1) == '|')) {
        ++pos_;
        break;
      }
      items.push_back(quantified(atom(depth)));
    }
    return grammar_.sequence(std::move(items));
  }

  ExprId atom(size_t depth) {
    const size_t start = pos_;
    switch (peek()) {
      case '(': return group(depth);
      case '[': ++pos_; return char_class(start);
      case '.': ++pos_; return grammar_.code_points_except(kNewline);
      case '\\': ++pos_; return grammar_.code_points(escape(start, false).ranges);
      case '^': unsupported(start, "anchor ^ inside the pattern");
      case '$': unsupported(start, "anchor $ inside the pattern");
      case '*':
      case '+':
      case '?': fail(start, std::string("nothing to repeat before '") + peek() + "'");
      case '{': {
        uint32_t min, max;
        if (counted(min, max)) fail(start, "nothing to repeat before '{'");
        break;  // a brace that is no quantifier is itself, as in ECMAScript and Python
      }
    }
    return grammar_.code_points(CharSet::one(next_char()).ranges);
  }

  // `item` with the quantifier that follows it, if any.
  ExprId quantified(ExprId item) {
    uint32_t min, max;
    if (eat('*')) {
      min = 0, max = kUnbounded;
    } else if (eat('+')) {
      min = 1, max = kUnbounded;
    } else if (eat('?')) {
      min = 0, max = 1;
    } else if (!counted(min, max)) {
      return item;
    }
    eat('?');  // lazy: the same strings match in full, only a search's choice among matches differs
    // Possessive: a*+a matches nothing, so the language changes.
    if (peek() == '+') unsupported(pos_, "possessive quantifier");
    if (at_quantifier()) fail(pos_, "a quantifier after a quantifier");
    return grammar_.repeat(item, min, max);
  }

  bool at_quantifier() {
    if (peek() == '*' || peek() == '+' || peek() == '?') return true;
    const size_t start = pos_;
    uint32_t min, max;
    const bool found = counted(min, max);
    pos_ = start;
    return found;
  }

  // {m}, {m,} or {m,n}: true with pos_ past it, or false with pos_ unmoved
  // (the brace is then a literal one).
  bool counted(uint32_t& min, uint32_t& max) {
    const size_t start = pos_;
    if (!eat('{')) return false;
    if (peek() == ',' && is_digit(peek(1))) {
      unsupported(start, "quantifier {,n} (ECMAScript reads it as text, Python as {0,n})");
    }
    if (!is_digit(peek())) {
      pos_ = start;
      return false;
    }
    min = number(kMaxRepeat + 1);
    max = eat(',') ? (is_digit(peek()) ? number(kMaxRepeat + 1) : kUnbounded) : min;
    if (!eat('}')) {
      pos_ = start;
      return false;
    }
    const std::string written(text_.substr(start, pos_ - start));
    if (min > max) fail(start, "quantifier " + written + " has its minimum above its maximum");
    if (min > kMaxRepeat || (max != kUnbounded && max > kMaxRepeat)) {
      unsupported(start, "quantifier " + written + " (counts above " + std::to_string(kMaxRepeat) + ")");
    }
    return true;
  }

  ExprId group(size_t depth) {
    const size_t start = pos_++;
    if (depth + 1 > kMaxGroupDepth) unsupported(start, "nesting groups deeper than " + std::to_string(kMaxGroupDepth));
    if (eat('?')) {
      for (const auto& [opening, feature] : kUnsupportedGroups) {
        if (text_.substr(pos_).starts_with(opening)) unsupported(start, feature);
      }
      if (eat("P<") || eat('<')) {
        group_name(start);
      } else if (!eat(':')) {
        if (kFlags.find(peek()) != std::string_view::npos)
          unsupported(start, "inline flags (?" + std::string(1, peek()));
        fail(start, "unknown group syntax");
      }
    }
    const ExprId body = alternation(depth + 1);
    if (!eat(')')) fail(start, "unbalanced '('");
    return body;
  }

  // The name of (?<name>…) or (?P<name>…), which matches as any group does.
  void group_name(size_t group_start) {
    const size_t name_start = pos_;
    while (std::isalnum(uint8_t(peek())) || peek() == '_') ++pos_;
    if (pos_ == name_start || is_digit(text_[name_start]) || !eat('>')) fail(group_start, "invalid group name");
  }

  // A class after its '['.
  ExprId char_class(size_t start) {
    const bool negated = eat('^');
    if (peek() == ']')
      unsupported(pos_, "']' first in a class (ECMAScript reads [] as empty, Python as ']'; write \\])");
    const std::vector<CodePointRange> ranges = class_ranges(start);
    return negated ? grammar_.code_points_except(ranges) : grammar_.code_points(ranges);
  }

  CharSet class_member() override {
    const size_t start = pos_;
    if (eat('\\')) return escape(start, true);
    if (peek() == '[' && peek(1) == ':') unsupported(start, "POSIX class [:");
    return CharSet::one(next_char());
  }

  // What follows a backslash at `start`.
  CharSet escape(size_t start, bool in_class) {
    if (at_end()) fail(start, "a trailing backslash");
    const char32_t c = next_char();
    switch (c) {
      case 'd': return set_of(kDigit);
      case 'D': return complement_of(kDigit);
      case 'w': return set_of(kWord);
      case 'W': return complement_of(kWord);
      case 's': return set_of(kSpace);
      case 'S': return complement_of(kSpace);
      case 'n': return CharSet::one('\n');
      case 't': return CharSet::one('\t');
      case 'r': return CharSet::one('\r');
      case 'f': return CharSet::one('\f');
      case 'v': return CharSet::one('\v');
      case 'x': return CharSet::one(hex_digits(2, 2, start));
      case 'u': {
        if (!eat('{')) return CharSet::one(hex_digits(4, 4, start));
        const char32_t value = hex_digits(1, 6, start);
        if (!eat('}')) fail(start, "\\u{ without its '}'");
        return CharSet::one(value);
      }
      case 'U': return CharSet::one(hex_digits(8, 8, start));
      case '0':
        if (is_digit(peek())) unsupported(start, "octal escape \\0" + std::string(1, peek()));
        return CharSet::one(0);
      case 'b':
        if (in_class) return CharSet::one('\b');  // a backspace inside a class, in both dialects
        unsupported(start, "word boundary \\b");
      case 'B': unsupported(start, "word boundary \\B");
      case 'p':
      case 'P': unsupported(start, "Unicode property class \\" + std::string(1, char(c)));
      case 'k': unsupported(start, "named backreference \\k");
      case 'A':
      case 'Z':
      case 'z':
      case 'G': unsupported(start, "anchor \\" + std::string(1, char(c)));
      case 'N': unsupported(start, "named character \\N");
      case 'c': unsupported(start, "control escape \\c");
    }
    if (c >= '1' && c <= '9')
      unsupported(start, (in_class ? "octal escape \\" : "backreference \\") + std::string(1, char(c)));
    if (c < 0x80 && std::isalnum(int(c))) fail(start, "unknown escape \\" + std::string(1, char(c)));
    return CharSet::one(c);  // escaped punctuation (or any non-ASCII character) stands for itself
  }

  Grammar& grammar_;
};

}  // namespace

ExprId add_regex(Grammar& grammar, std::string_view pattern) { return RegexParser(grammar, pattern).parse(); }

Grammar regex_grammar(std::string_view pattern) {
  Grammar grammar;
  const ExprId body = add_regex(grammar, pattern);
  grammar.set_root(grammar.add_rule("root", body));
  return grammar;
}

}  // namespace rs::grammar
