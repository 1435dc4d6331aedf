#include "core/grammar/text_reader.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdio>

namespace rs::grammar {

std::string TextReader::describe(char32_t c) {
  if (c >= 0x20 && c < 0x7F) return std::string("'") + char(c) + "'";
  char name[16];
  std::snprintf(name, sizeof name, "U+%04X", unsigned(c));
  return name;
}

bool TextReader::eat(char c) {
  if (at_end() || text_[pos_] != c) return false;
  ++pos_;
  return true;
}

bool TextReader::eat(std::string_view word) {
  if (!text_.substr(pos_).starts_with(word)) return false;
  pos_ += word.size();
  return true;
}

char32_t TextReader::next_char() {
  const size_t start = pos_;
  const uint8_t lead = uint8_t(text_[pos_++]);
  if (lead < 0x80) return lead;
  // The lead byte gives the length and the smallest code point that length may encode (no overlong forms).
  const size_t length = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 0;
  static constexpr char32_t kSmallest[] = {0, 0, 0x80, 0x800, 0x10000};
  if (length == 0 || lead >= 0xF8) fail(start, "invalid UTF-8");
  char32_t c = lead & (0x7F >> length);
  for (size_t i = 1; i < length; ++i) {
    if (at_end() || (uint8_t(text_[pos_]) & 0xC0) != 0x80) fail(start, "invalid UTF-8");
    c = c << 6 | (uint8_t(text_[pos_++]) & 0x3F);
  }
  if (c < kSmallest[length] || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) fail(start, "invalid UTF-8");
  return c;
}

char32_t TextReader::hex_digits(size_t min, size_t max, size_t escape) {
  char32_t value = 0;
  size_t count = 0;
  for (; count < max && std::isxdigit(uint8_t(peek())); ++count) {
    const char d = text_[pos_++];
    value = value << 4 | char32_t(d <= '9' ? d - '0' : (d | 0x20) - 'a' + 10);
  }
  const std::string digits = min == max ? std::to_string(min) : std::to_string(min) + " to " + std::to_string(max);
  if (count < min) fail(escape, "escape expects " + digits + " hexadecimal digits");
  if (value > 0x10FFFF) fail(escape, "escape above U+10FFFF");
  if (value >= 0xD800 && value <= 0xDFFF)
    fail(escape, "escape of the surrogate " + describe(value) + ", not a character");
  return value;
}

uint32_t TextReader::number(uint32_t ceiling) {
  uint32_t value = 0;
  while (is_digit(peek())) value = std::min(value * 10 + uint32_t(text_[pos_++] - '0'), ceiling);
  return value;
}

std::vector<CodePointRange> TextReader::class_ranges(size_t start) {
  std::vector<CodePointRange> ranges;
  while (!eat(']')) {
    if (at_end()) fail(start, "unterminated character class");
    const size_t member = pos_;
    const CharSet first = class_member();
    if (peek() != '-' || peek(1) == ']' || pos_ + 1 == text_.size()) {
      ranges.insert(ranges.end(), first.ranges.begin(), first.ranges.end());
      continue;
    }
    ++pos_;
    const CharSet last = class_member();
    if (!first.single || !last.single) fail(member, "a class range bounded by a set such as \\d");
    const char32_t from = first.ranges[0].first, to = last.ranges[0].first;
    if (to < from) fail(member, "class range " + describe(from) + "-" + describe(to) + " out of order");
    ranges.push_back({from, to});
  }
  return ranges;
}

}  // namespace rs::grammar
