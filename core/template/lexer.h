#pragma once
// Template source to tokens, with Jinja2's whitespace control as transformers
// configures it (trim_blocks, lstrip_blocks): `-` and `+` on tags, comments
// dropped, {% raw %} kept verbatim. Newlines are normalized to \n and one
// trailing newline is dropped, as Jinja2 does.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace rs::jinja {

enum class TokenKind {
  text,            // template data outside tags
  variable_begin,  // {{
  variable_end,    // }}
  block_begin,     // {%
  block_end,       // %}
  name,
  string,    // value: the decoded literal
  integer,   // integer: the value
  floating,  // number: the value
  op,        // value: the operator, e.g. "//" or "["
  end,       // end of the template
};

struct Token {
  TokenKind kind;
  std::string value;
  int line = 1;
  int64_t integer = 0;
  double number = 0;
};

// Throws TemplateError naming `template_name` and the line for malformed source.
std::vector<Token> tokenize(std::string_view source, const std::string& template_name);

}  // namespace rs::jinja
