#include "core/template/python_string.h"

#include <fmt/format.h>

#include <algorithm>

#include "core/template/error.h"

namespace rs::jinja::py {
namespace {

bool is_ascii_upper(char32_t c) { return c >= 'A' && c <= 'Z'; }
bool is_ascii_lower(char32_t c) { return c >= 'a' && c <= 'z'; }

// Latin Extended-A pairs its cases as (upper, lower) code points; which of the
// pair comes first changes along the block.
bool latin_a_upper_is_even(char32_t c) { return (c >= 0x100 && c <= 0x137) || (c >= 0x14a && c <= 0x177); }
bool in_latin_a(char32_t c) {
  return latin_a_upper_is_even(c) || (c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17e);
}

// Case mapping for ASCII, Latin-1, Latin Extended-A, Greek and Cyrillic; other
// scripts are left as they are.
char32_t to_upper(char32_t c) {
  if (is_ascii_lower(c) || (c >= 0xe0 && c <= 0xfe && c != 0xf7) || (c >= 0x3b1 && c <= 0x3cb && c != 0x3c2) ||
      (c >= 0x430 && c <= 0x44f)) {
    return c - 32;
  }
  if (c == 0x3c2) return 0x3a3;  // final sigma
  if (c >= 0x450 && c <= 0x45f) return c - 80;
  if (c == 0xff) return 0x178;
  if (c == 0x131) return 'I';  // dotless i
  if (in_latin_a(c) && (c % 2 == 0) != latin_a_upper_is_even(c)) return c - 1;
  return c;
}

char32_t to_lower(char32_t c) {
  if (is_ascii_upper(c) || (c >= 0xc0 && c <= 0xde && c != 0xd7) || (c >= 0x391 && c <= 0x3ab && c != 0x3a2) ||
      (c >= 0x410 && c <= 0x42f)) {
    return c + 32;
  }
  if (c >= 0x400 && c <= 0x40f) return c + 80;
  if (c == 0x178) return 0xff;
  if (in_latin_a(c) && (c % 2 == 0) == latin_a_upper_is_even(c) && c != 0x130) return c + 1;
  return c;
}

// Whether str.title() treats the code point as part of a word: letters with a
// case, and (without Unicode tables) every other non-ASCII code point but spaces.
bool is_cased(char32_t c) { return to_upper(c) != c || to_lower(c) != c || (c >= 0x80 && !is_space(c)); }

// Code points Python's repr() escapes besides ASCII controls: an approximation of
// Unicode's "not printable" (separators, format characters, private use).
bool is_unprintable(char32_t c) {
  return (c >= 0x80 && c <= 0xa0) || c == 0xad || (c >= 0x600 && c <= 0x605) || c == 0x61c || c == 0x6dd ||
         c == 0x70f || c == 0x180e || c == 0x1680 || (c >= 0x2000 && c <= 0x200f) || (c >= 0x2028 && c <= 0x202f) ||
         (c >= 0x205f && c <= 0x206f) || c == 0x3000 || (c >= 0xd800 && c <= 0xf8ff) || c == 0xfeff ||
         (c >= 0xfff9 && c <= 0xfffb) || c == 0xfffe || c == 0xffff || c == 0xe0001 || (c >= 0xe0020 && c <= 0xe007f) ||
         c >= 0xf0000;
}

bool is_line_break(char32_t c) {
  return c == '\n' || c == '\r' || c == 0x0b || c == 0x0c || (c >= 0x1c && c <= 0x1e) || c == 0x85 || c == 0x2028 ||
         c == 0x2029;
}

template <typename Map>
std::string map_code_points(std::string_view text, Map map) {
  std::string out;
  out.reserve(text.size());
  for (size_t pos = 0; pos < text.size();) {
    const size_t start = pos;
    const char32_t c = next_code_point(text, pos);
    if (is_malformed_byte(text, start, pos)) {
      out += text[start];
    } else {
      append_utf8(out, map(c));
    }
  }
  return out;
}

bool contains_code_point(std::string_view chars, char32_t c) {
  for (size_t pos = 0; pos < chars.size();) {
    if (next_code_point(chars, pos) == c) return true;
  }
  return false;
}

}  // namespace

char32_t next_code_point(std::string_view s, size_t& pos) {
  const unsigned char lead = static_cast<unsigned char>(s[pos]);
  if (lead < 0x80) {
    ++pos;
    return lead;
  }
  const size_t extra = (lead >> 5) == 0x6 ? 1 : (lead >> 4) == 0xe ? 2 : (lead >> 3) == 0x1e ? 3 : 0;
  if (extra == 0 || pos + extra >= s.size()) {
    ++pos;
    return 0xfffd;
  }
  char32_t c = lead & (0x3f >> extra);
  for (size_t i = 1; i <= extra; ++i) {
    const unsigned char next = static_cast<unsigned char>(s[pos + i]);
    if ((next & 0xc0) != 0x80) {
      ++pos;
      return 0xfffd;
    }
    c = (c << 6) | (next & 0x3f);
  }
  pos += extra + 1;
  return c;
}

bool is_malformed_byte(std::string_view text, size_t start, size_t end) {
  return end - start == 1 && static_cast<unsigned char>(text[start]) >= 0x80;
}

void append_utf8(std::string& out, char32_t c) {
  if (c < 0x80) {
    out += char(c);
  } else if (c < 0x800) {
    out += char(0xc0 | (c >> 6));
    out += char(0x80 | (c & 0x3f));
  } else if (c < 0x10000) {
    out += char(0xe0 | (c >> 12));
    out += char(0x80 | ((c >> 6) & 0x3f));
    out += char(0x80 | (c & 0x3f));
  } else {
    out += char(0xf0 | (c >> 18));
    out += char(0x80 | ((c >> 12) & 0x3f));
    out += char(0x80 | ((c >> 6) & 0x3f));
    out += char(0x80 | (c & 0x3f));
  }
}

bool is_valid_utf8(std::string_view text) {
  for (size_t pos = 0; pos < text.size();) {
    const size_t start = pos;
    const char32_t c = next_code_point(text, pos);
    const size_t size = pos - start;
    const size_t expected = c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
    // A malformed byte (decoded as one byte), an overlong form, a surrogate, or past U+10FFFF.
    if (size != expected || (c >= 0xd800 && c <= 0xdfff) || c > 0x10ffff) return false;
  }
  return true;
}

std::vector<std::string_view> code_points(std::string_view text) {
  std::vector<std::string_view> out;
  out.reserve(text.size());
  for (size_t pos = 0; pos < text.size();) {
    const size_t start = pos;
    next_code_point(text, pos);
    out.push_back(text.substr(start, pos - start));
  }
  return out;
}

size_t length(std::string_view text) {
  // Every byte but a continuation byte starts a code point.
  return size_t(
      std::count_if(text.begin(), text.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xc0) != 0x80; }));
}

bool is_space(char32_t c) {
  return (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x20) || c == 0x85 || c == 0xa0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f || c == 0x205f || c == 0x3000;
}

std::string_view strip(std::string_view text, const std::optional<std::string_view>& chars, bool left, bool right) {
  const auto strippable = [&](char32_t c) { return chars ? contains_code_point(*chars, c) : is_space(c); };
  size_t begin = 0, end = text.size();
  if (left) {
    while (begin < end) {
      size_t next = begin;
      if (!strippable(next_code_point(text, next))) break;
      begin = next;
    }
  }
  if (right) {
    while (end > begin) {
      size_t start = end - 1;
      while (start > begin && (static_cast<unsigned char>(text[start]) & 0xc0) == 0x80) --start;
      size_t pos = start;
      if (!strippable(next_code_point(text, pos))) break;
      end = start;
    }
  }
  return text.substr(begin, end - begin);
}

std::vector<std::string> split(std::string_view text, const std::optional<std::string_view>& separator, long max_splits,
                               bool from_right) {
  std::vector<std::string> parts;
  if (separator) {
    if (separator->empty()) throw EvalError("empty separator");
    if (!from_right) {
      size_t start = 0;
      for (size_t at; (max_splits < 0 || long(parts.size()) < max_splits) &&
                      (at = text.find(*separator, start)) != std::string_view::npos;
           start = at + separator->size()) {
        parts.emplace_back(text.substr(start, at - start));
      }
      parts.emplace_back(text.substr(start));
      return parts;
    }
    size_t end = text.size();
    for (size_t at; (max_splits < 0 || long(parts.size()) < max_splits) && end >= separator->size() &&
                    (at = text.rfind(*separator, end - separator->size())) != std::string_view::npos;
         end = at) {
      parts.emplace_back(text.substr(at + separator->size(), end - at - separator->size()));
    }
    parts.emplace_back(text.substr(0, end));
    std::reverse(parts.begin(), parts.end());
    return parts;
  }
  // Runs of whitespace; the unsplit remainder keeps its inner and far-end whitespace.
  const std::vector<std::string_view> chars = code_points(text);
  const auto space = [&](size_t i) {
    size_t pos = 0;
    return is_space(next_code_point(chars[i], pos));
  };
  const auto join = [&](size_t begin, size_t end) {
    std::string out;
    for (size_t i = begin; i < end; ++i) out += chars[i];
    return out;
  };
  if (!from_right) {
    size_t i = 0;
    while (true) {
      while (i < chars.size() && space(i)) ++i;
      if (i == chars.size()) break;
      if (max_splits >= 0 && long(parts.size()) == max_splits) {
        parts.push_back(join(i, chars.size()));
        break;
      }
      const size_t start = i;
      while (i < chars.size() && !space(i)) ++i;
      parts.push_back(join(start, i));
    }
    return parts;
  }
  size_t i = chars.size();
  while (true) {
    while (i > 0 && space(i - 1)) --i;
    if (i == 0) break;
    if (max_splits >= 0 && long(parts.size()) == max_splits) {
      parts.push_back(join(0, i));
      break;
    }
    const size_t end = i;
    while (i > 0 && !space(i - 1)) --i;
    parts.push_back(join(i, end));
  }
  std::reverse(parts.begin(), parts.end());
  return parts;
}

std::vector<std::string> split_lines(std::string_view text, bool keep_ends) {
  std::vector<std::string> lines;
  size_t start = 0;
  for (size_t pos = 0; pos < text.size();) {
    const size_t at = pos;
    const char32_t c = next_code_point(text, pos);
    if (!is_line_break(c)) continue;
    if (c == '\r' && pos < text.size() && text[pos] == '\n') ++pos;
    lines.emplace_back(text.substr(start, (keep_ends ? pos : at) - start));
    start = pos;
  }
  if (start < text.size()) lines.emplace_back(text.substr(start));
  return lines;
}

std::string replace(std::string_view text, std::string_view old, std::string_view replacement, long count) {
  std::string out;
  long done = 0;
  if (old.empty()) {
    for (std::string_view c : code_points(text)) {
      if (count < 0 || done < count) out += replacement, ++done;
      out += c;
    }
    if (count < 0 || done < count) out += replacement;
    return out;
  }
  size_t start = 0;
  for (size_t at; (count < 0 || done < count) && (at = text.find(old, start)) != std::string_view::npos;
       start = at + old.size(), ++done) {
    out.append(text.substr(start, at - start));
    out.append(replacement);
  }
  out.append(text.substr(start));
  return out;
}

size_t count(std::string_view text, std::string_view needle) {
  if (needle.empty()) return length(text) + 1;
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string_view::npos; at = text.find(needle, at + needle.size())) ++n;
  return n;
}

long find(std::string_view text, std::string_view needle, bool from_right) {
  const size_t at = from_right ? text.rfind(needle) : text.find(needle);
  return at == std::string_view::npos ? -1 : long(length(text.substr(0, at)));
}

std::string upper(std::string_view text) { return map_code_points(text, to_upper); }
std::string lower(std::string_view text) { return map_code_points(text, to_lower); }
std::string swapcase(std::string_view text) {
  return map_code_points(text, [](char32_t c) { return is_ascii_upper(c) ? to_lower(c) : to_upper(c); });
}

std::string capitalize(std::string_view text) {
  bool first = true;
  return map_code_points(text, [&](char32_t c) {
    const char32_t mapped = first ? to_upper(c) : to_lower(c);
    first = false;
    return mapped;
  });
}

std::string title(std::string_view text) {
  bool previous_cased = false;
  return map_code_points(text, [&](char32_t c) {
    const char32_t mapped = previous_cased ? to_lower(c) : to_upper(c);
    previous_cased = is_cased(c);
    return mapped;
  });
}

std::string repr(std::string_view text) {
  const bool double_quotes = text.find('\'') != std::string_view::npos && text.find('"') == std::string_view::npos;
  const char quote = double_quotes ? '"' : '\'';
  std::string out(1, quote);
  for (size_t pos = 0; pos < text.size();) {
    const size_t start = pos;
    const char32_t c = next_code_point(text, pos);
    if (is_malformed_byte(text, start, pos)) {
      out += text[start];
    } else if (c == char32_t(quote) || c == '\\') {
      out += '\\';
      out += char(c);
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c < 0x20 || c == 0x7f) {
      out += fmt::format("\\x{:02x}", uint32_t(c));
    } else if (c < 0x7f || !is_unprintable(c)) {
      append_utf8(out, c);
    } else if (c <= 0xff) {
      out += fmt::format("\\x{:02x}", uint32_t(c));
    } else if (c <= 0xffff) {
      out += fmt::format("\\u{:04x}", uint32_t(c));
    } else {
      out += fmt::format("\\U{:08x}", uint32_t(c));
    }
  }
  out += quote;
  return out;
}

}  // namespace rs::jinja::py
