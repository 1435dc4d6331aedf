#pragma once
// Values to and from JSON: Python's json.dumps (what transformers' tojson
// filter calls), and JSON documents (OpenAI messages, tools) as values.
#include <optional>
#include <string>
#include <string_view>

#include "core/template/value.h"

namespace rs::jinja {

struct JsonOptions {
  std::optional<std::string> indent;  // json.dumps' indent, as the text of one level; none: one line
  std::string item_separator = ", ";  // json.dumps uses "," when indenting
  std::string key_separator = ": ";
  bool ensure_ascii = false;  // transformers' tojson default; true escapes non-ASCII as \uXXXX
  bool sort_keys = false;
};

// json.dumps(value); EvalError for what JSON cannot hold (undefined, functions, namespaces).
std::string to_json(const Value& value, const JsonOptions& options = {});

// The value of a JSON document: objects keep their key order, a repeated key keeps
// its first place and its last value (as Python's json.loads). Throws
// std::invalid_argument naming what is wrong.
Value value_from_json(std::string_view json);

}  // namespace rs::jinja
