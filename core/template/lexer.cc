#include "core/template/lexer.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <optional>

#include "core/template/error.h"
#include "core/template/python_string.h"

namespace rs::jinja {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_name_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_name_char(char c) { return is_name_start(c) || is_digit(c); }

std::string normalize_newlines(std::string_view source) {
  std::string out;
  out.reserve(source.size());
  for (size_t i = 0; i < source.size(); ++i) {
    if (source[i] != '\r') {
      out += source[i];
      continue;
    }
    out += '\n';
    if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
  }
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

bool all_space(std::string_view text) {
  for (size_t pos = 0; pos < text.size();) {
    if (!py::is_space(py::next_code_point(text, pos))) return false;
  }
  return true;
}

class Lexer {
 public:
  Lexer(std::string_view source, const std::string& template_name) : src_(source), name_(template_name) {}

  std::vector<Token> run() {
    while (pos_ < src_.size()) {
      const size_t at = find_tag_start(pos_);
      if (at == std::string_view::npos) {
        push(TokenKind::text, std::string(src_.substr(pos_)));
        break;
      }
      const char opener = src_[at + 1];
      const char sign = at + 2 < src_.size() && (src_[at + 2] == '-' || src_[at + 2] == '+') ? src_[at + 2] : 0;
      const size_t content = at + 2 + (sign ? 1 : 0);
      const std::string_view text = strip_before_tag(src_.substr(pos_, at - pos_), sign, opener == '{');
      if (!text.empty()) push(TokenKind::text, std::string(text));
      advance_to(at);
      if (opener == '#') {
        lex_comment(content);
      } else if (const std::optional<size_t> raw_end = opener == '%' ? raw_begin_end(content) : std::nullopt) {
        finish_match(*raw_end);
        lex_raw_body();
      } else {
        lex_tag(content, opener == '{');
      }
    }
    push(TokenKind::end, "");
    return std::move(tokens_);
  }

 private:
  [[noreturn]] void fail(const std::string& reason) const { throw TemplateError(name_, line_, reason); }

  void push(TokenKind kind, std::string value) { tokens_.push_back(Token{kind, std::move(value), line_}); }

  void advance_to(size_t pos) {
    line_ += int(std::count(src_.begin() + long(pos_), src_.begin() + long(pos), '\n'));
    pos_ = pos;
  }

  // Ends a match of Jinja's lexer at `end`: whether the next data starts a line
  // depends on how this match ended.
  void finish_match(size_t end) {
    line_starting_ = end > 0 && src_[end - 1] == '\n';
    advance_to(end);
  }

  bool starts_with(size_t pos, std::string_view text) const { return src_.substr(pos, text.size()) == text; }

  size_t skip_space(size_t pos) const {
    while (pos < src_.size()) {
      size_t next = pos;
      if (!py::is_space(py::next_code_point(src_, next))) break;
      pos = next;
    }
    return pos;
  }

  size_t find_tag_start(size_t from) const {
    for (size_t at = src_.find('{', from); at != std::string_view::npos && at + 1 < src_.size();
         at = src_.find('{', at + 1)) {
      const char next = src_[at + 1];
      if (next == '{' || next == '%' || next == '#') return at;
    }
    return std::string_view::npos;
  }

  // The data before a tag with the tag's whitespace control applied: `-` strips
  // all whitespace; lstrip_blocks strips a line's indentation before {% and {#.
  std::string_view strip_before_tag(std::string_view text, char sign, bool variable) const {
    if (sign == '-') return py::strip(text, std::nullopt, false, true);
    if (sign == '+' || variable) return text;
    const size_t line_start = text.rfind('\n') + 1;  // 0 when there is no newline
    if (line_start == 0 && !line_starting_) return text;
    const std::string_view indentation = text.substr(line_start);
    return !indentation.empty() && all_space(indentation) ? text.substr(0, line_start) : text;
  }

  // Where the end of a tag matches at pos_ (0 when it does not): `-` eats the
  // whitespace after it, trim_blocks the one newline after %}, `+` keeps it.
  size_t tag_end(bool variable) const {
    const char* close = variable ? "}}" : "%}";
    if (!variable && starts_with(pos_, "+%}")) return pos_ + 3;
    if (src_[pos_] == '-' && starts_with(pos_ + 1, close)) return skip_space(pos_ + 3);
    if (!starts_with(pos_, close)) return 0;
    const size_t end = pos_ + 2;
    return !variable && end < src_.size() && src_[end] == '\n' ? end + 1 : end;
  }

  void lex_comment(size_t content) {
    const size_t close = src_.find("#}", content);
    if (close == std::string_view::npos) fail("missing end of comment tag");
    size_t end = close + 2;
    const char sign = close > content ? src_[close - 1] : 0;
    if (sign == '-') {
      end = skip_space(end);
    } else if (sign != '+' && end < src_.size() && src_[end] == '\n') {
      ++end;
    }
    finish_match(end);
  }

  // The end of `{% raw %}` when the block tag at `content` is one.
  std::optional<size_t> raw_begin_end(size_t content) const {
    size_t pos = skip_space(content);
    if (!starts_with(pos, "raw")) return std::nullopt;
    pos = skip_space(pos + 3);
    if (starts_with(pos, "-%}")) return skip_space(pos + 3);
    if (starts_with(pos, "%}")) return pos + 2;
    return std::nullopt;
  }

  void lex_raw_body() {
    for (size_t at = src_.find("{%", pos_); at != std::string_view::npos; at = src_.find("{%", at + 1)) {
      const char sign = at + 2 < src_.size() && (src_[at + 2] == '-' || src_[at + 2] == '+') ? src_[at + 2] : 0;
      size_t pos = skip_space(at + 2 + (sign ? 1 : 0));
      if (!starts_with(pos, "endraw")) continue;
      pos = skip_space(pos + 6);
      size_t end;
      if (starts_with(pos, "+%}")) {
        end = pos + 3;
      } else if (starts_with(pos, "-%}")) {
        end = skip_space(pos + 3);
      } else if (starts_with(pos, "%}")) {
        end = pos + 2 + (pos + 2 < src_.size() && src_[pos + 2] == '\n' ? 1 : 0);
      } else {
        continue;
      }
      const std::string_view text = strip_before_tag(src_.substr(pos_, at - pos_), sign, false);
      if (!text.empty()) push(TokenKind::text, std::string(text));
      finish_match(end);
      return;
    }
    fail("missing end of raw directive");
  }

  void lex_tag(size_t content, bool variable) {
    push(variable ? TokenKind::variable_begin : TokenKind::block_begin, variable ? "{{" : "{%");
    advance_to(content);
    std::vector<char> closers;  // the brackets still open: ends of tags inside them are operators
    while (true) {
      if (pos_ >= src_.size()) fail(fmt::format("unexpected end of template, expected '{}'", variable ? "}}" : "%}"));
      if (closers.empty()) {
        if (const size_t end = tag_end(variable)) {
          push(variable ? TokenKind::variable_end : TokenKind::block_end, variable ? "}}" : "%}");
          finish_match(end);
          return;
        }
      }
      const char c = src_[pos_];
      if (const size_t after_space = skip_space(pos_); after_space > pos_) {
        advance_to(after_space);
      } else if (is_digit(c)) {
        lex_number();
      } else if (is_name_start(c)) {
        size_t end = pos_;
        while (end < src_.size() && is_name_char(src_[end])) ++end;
        push(TokenKind::name, std::string(src_.substr(pos_, end - pos_)));
        advance_to(end);
      } else if (c == '\'' || c == '"') {
        lex_string(c);
      } else {
        lex_operator(closers);
      }
    }
  }

  size_t digits_end(size_t pos, int base = 10) const {
    const auto is_base_digit = [&](char c) {
      if (base == 16) return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
      return c >= '0' && c < char('0' + base);
    };
    const size_t start = pos;
    while (pos < src_.size() && (is_base_digit(src_[pos]) || (src_[pos] == '_' && pos > start &&
                                                              pos + 1 < src_.size() && is_base_digit(src_[pos + 1])))) {
      ++pos;
    }
    return pos;
  }

  void lex_number() {
    const size_t start = pos_;
    const char prefix = start + 1 < src_.size() ? char(src_[start + 1] | 0x20) : 0;
    if (src_[start] == '0' && (prefix == 'x' || prefix == 'o' || prefix == 'b')) {
      const int base = prefix == 'x' ? 16 : prefix == 'o' ? 8 : 2;
      // Python allows one '_' right after the prefix.
      const size_t digits = start + 2 + (start + 2 < src_.size() && src_[start + 2] == '_' ? 1 : 0);
      const size_t end = digits_end(digits, base);
      if (end > digits) return push_integer(src_.substr(digits, end - digits), base, end);
    }
    size_t end = digits_end(start);
    bool floating = false;
    const bool float_allowed = start == 0 || src_[start - 1] != '.';  // as Jinja's (?<!\.)
    if (float_allowed && end + 1 < src_.size() && src_[end] == '.' && is_digit(src_[end + 1])) {
      end = digits_end(end + 1);
      floating = true;
    }
    if (float_allowed && end < src_.size() && (src_[end] == 'e' || src_[end] == 'E')) {
      size_t exponent = end + 1;
      if (exponent < src_.size() && (src_[exponent] == '+' || src_[exponent] == '-')) ++exponent;
      if (exponent < src_.size() && is_digit(src_[exponent])) {
        end = digits_end(exponent);
        floating = true;
      }
    }
    if (!floating) return push_integer(src_.substr(start, end - start), 10, end);
    std::string text(src_.substr(start, end - start));
    text.erase(std::remove(text.begin(), text.end(), '_'), text.end());
    push(TokenKind::floating, text);
    tokens_.back().number = std::strtod(text.c_str(), nullptr);
    advance_to(end);
  }

  void push_integer(std::string_view digits, int base, size_t end) {
    std::string text(digits);
    text.erase(std::remove(text.begin(), text.end(), '_'), text.end());
    if (base == 10 && text.size() > 1 && text[0] == '0' && text.find_first_not_of('0') != std::string::npos) {
      fail(fmt::format("invalid integer literal '{}'", text));
    }
    int64_t value = 0;
    const auto result = std::from_chars(text.data(), text.data() + text.size(), value, base);
    if (result.ec != std::errc()) fail(fmt::format("integer literal '{}' is too large", text));
    push(TokenKind::integer, text);
    tokens_.back().integer = value;
    advance_to(end);
  }

  void lex_string(char quote) {
    size_t end = pos_ + 1;
    while (end < src_.size() && src_[end] != quote) end += src_[end] == '\\' ? 2 : 1;
    if (end >= src_.size()) fail("unterminated string literal");
    push(TokenKind::string, decode_string(src_.substr(pos_ + 1, end - pos_ - 1)));
    advance_to(end + 1);
  }

  // Python's unicode-escape decoding, which Jinja applies to string literals.
  std::string decode_string(std::string_view body) const {
    std::string out;
    for (size_t pos = 0; pos < body.size();) {
      if (body[pos] != '\\') {
        const size_t start = pos;
        py::next_code_point(body, pos);
        out.append(body.substr(start, pos - start));
        continue;
      }
      ++pos;
      const char c = body[pos];
      if (static_cast<unsigned char>(c) >= 0x80) {
        // Jinja backslash-escapes non-ASCII text before decoding, so "\é" reads as "\xe9".
        const char32_t code_point = py::next_code_point(body, pos);
        out += code_point <= 0xff     ? fmt::format("\\x{:02x}", uint32_t(code_point))
               : code_point <= 0xffff ? fmt::format("\\u{:04x}", uint32_t(code_point))
                                      : fmt::format("\\U{:08x}", uint32_t(code_point));
        continue;
      }
      ++pos;
      switch (c) {
        case '\n': break;  // a line continuation
        case '\\': out += '\\'; break;
        case '\'': out += '\''; break;
        case '"': out += '"'; break;
        case 'a': out += '\a'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'v': out += '\v'; break;
        case 'x': out += hex_escape(body, pos, 2); break;
        case 'u': out += hex_escape(body, pos, 4); break;
        case 'U': out += hex_escape(body, pos, 8); break;
        case 'N': fail("\\N{...} escapes are not supported");
        default:
          if (c >= '0' && c <= '7') {
            char32_t code_point = char32_t(c - '0');
            for (int i = 0; i < 2 && pos < body.size() && body[pos] >= '0' && body[pos] <= '7'; ++i, ++pos) {
              code_point = code_point * 8 + char32_t(body[pos] - '0');
            }
            py::append_utf8(out, code_point);
          } else {  // Python keeps unknown escapes as written
            out += '\\';
            out += c;
          }
      }
    }
    return out;
  }

  std::string hex_escape(std::string_view body, size_t& pos, size_t digits) const {
    uint32_t code_point = 0;
    const auto result =
        std::from_chars(body.data() + pos, body.data() + std::min(body.size(), pos + digits), code_point, 16);
    if (result.ec != std::errc() || size_t(result.ptr - (body.data() + pos)) != digits) {
      fail(fmt::format("truncated \\{} escape in a string literal", body[pos - 1]));
    }
    if (code_point > 0x10ffff || (code_point >= 0xd800 && code_point <= 0xdfff)) {
      fail(fmt::format("\\{} escape of U+{:X} is not a Unicode scalar value", body[pos - 1], code_point));
    }
    pos += digits;
    std::string out;
    py::append_utf8(out, code_point);
    return out;
  }

  void lex_operator(std::vector<char>& closers) {
    static constexpr std::string_view two_char[] = {"//", "**", "==", "!=", ">=", "<="};
    for (std::string_view op : two_char) {
      if (starts_with(pos_, op)) {
        push(TokenKind::op, std::string(op));
        return advance_to(pos_ + 2);
      }
    }
    const char c = src_[pos_];
    if (std::string_view("+-/*%~[](){}=><.:|,;").find(c) == std::string_view::npos) {
      fail(fmt::format("unexpected char '{}'", c));
    }
    if (c == '(' || c == '[' || c == '{') closers.push_back(c == '(' ? ')' : c == '[' ? ']' : '}');
    if (c == ')' || c == ']' || c == '}') {
      if (closers.empty()) fail(fmt::format("unexpected '{}'", c));
      if (closers.back() != c) fail(fmt::format("unexpected '{}', expected '{}'", c, closers.back()));
      closers.pop_back();
    }
    push(TokenKind::op, std::string(1, c));
    advance_to(pos_ + 1);
  }

  std::string_view src_;
  const std::string& name_;
  size_t pos_ = 0;
  int line_ = 1;
  bool line_starting_ = true;  // Jinja's lstrip_blocks also strips data that starts a line
  std::vector<Token> tokens_;
};

}  // namespace

std::vector<Token> tokenize(std::string_view source, const std::string& template_name) {
  if (!py::is_valid_utf8(source)) throw TemplateError(template_name, 1, "the template is not valid UTF-8");
  const std::string normalized = normalize_newlines(source);
  return Lexer(normalized, template_name).run();
}

}  // namespace rs::jinja
