#pragma once
// What the regex and GBNF readers share: a cursor over their UTF-8 source
// that decodes characters, hexadecimal escapes and the body of a character
// class, and reports an error at an offset in the words of the reader that
// owns it. Internal to core/grammar.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/grammar/grammar.h"

namespace rs::grammar {

// A member of a character class: one character, which may bound a range,
// or a set of them (a regex's \d, \W, ...).
struct CharSet {
  std::vector<CodePointRange> ranges;
  bool single = false;

  static CharSet one(char32_t c) { return {{{c, c}}, true}; }
};

class TextReader {
 public:
  virtual ~TextReader() = default;

 protected:
  explicit TextReader(std::string_view text) : text_(text) {}

  static bool is_digit(char c) { return c >= '0' && c <= '9'; }
  // "'a'" for printable ASCII, else "U+00E9": a character named in a message.
  static std::string describe(char32_t c);

  // Throws the GrammarError for `what` found at byte `offset` of the text.
  [[noreturn]] virtual void fail(size_t offset, const std::string& what) const = 0;

  bool at_end() const { return pos_ >= text_.size(); }
  // The byte `ahead` bytes on, '\0' past the end (callers that accept NUL check at_end()).
  char peek(size_t ahead = 0) const { return pos_ + ahead < text_.size() ? text_[pos_ + ahead] : '\0'; }
  bool eat(char c);
  bool eat(std::string_view word);
  // One UTF-8 encoded character; anything but well-formed UTF-8 fails.
  char32_t next_char();
  // Between `min` and `max` hexadecimal digits (as many as there are), the
  // code point they spell, which must be a Unicode scalar value. `escape` is
  // where the escape began, for messages.
  char32_t hex_digits(size_t min, size_t max, size_t escape);
  // Decimal digits (a repetition's count), held at `ceiling` once above it.
  uint32_t number(uint32_t ceiling);

  // The next member of a class, in the reader's own escapes.
  virtual CharSet class_member() = 0;
  // The members of the class opened at `start`, read from past its '[' and
  // any '^' through its ']': members, and ranges a-z between single
  // characters (a '-' first or last is itself).
  std::vector<CodePointRange> class_ranges(size_t start);

  std::string_view text_;
  size_t pos_ = 0;
};

}  // namespace rs::grammar
