#include "core/template/json.h"

#include <fmt/format.h>
#include <simdjson.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "core/template/error.h"
#include "core/template/python_string.h"

namespace rs::jinja {
namespace {

void append_json_string(std::string& out, std::string_view text, bool ensure_ascii) {
  out += '"';
  for (size_t pos = 0; pos < text.size();) {
    const size_t start = pos;
    const char32_t c = py::next_code_point(text, pos);
    if (py::is_malformed_byte(text, start, pos)) {
      out += text[start];
      continue;
    }
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20) {
          out += fmt::format("\\u{:04x}", uint32_t(c));
        } else if (c < 0x7f || !ensure_ascii) {
          py::append_utf8(out, c);
        } else if (c < 0x10000) {
          out += fmt::format("\\u{:04x}", uint32_t(c));
        } else {  // a UTF-16 surrogate pair
          const char32_t v = c - 0x10000;
          out += fmt::format("\\u{:04x}\\u{:04x}", uint32_t(0xd800 + (v >> 10)), uint32_t(0xdc00 + (v & 0x3ff)));
        }
    }
  }
  out += '"';
}

class JsonWriter {
 public:
  explicit JsonWriter(const JsonOptions& options) : options_(options) {}

  void write(const Value& value, size_t depth) {
    switch (value.kind()) {
      case Value::Kind::none: out_ += "null"; return;
      case Value::Kind::boolean: out_ += value.as_bool() ? "true" : "false"; return;
      case Value::Kind::integer: out_ += std::to_string(value.as_int()); return;
      case Value::Kind::floating: {
        const double d = value.as_double();
        out_ += std::isnan(d) ? "NaN" : std::isinf(d) ? (d < 0 ? "-Infinity" : "Infinity") : format_float(d);
        return;
      }
      case Value::Kind::string: append_json_string(out_, value.as_string(), options_.ensure_ascii); return;
      case Value::Kind::array: {
        if (value.is_generator()) throw EvalError("Object of type generator is not JSON serializable");
        const Array& items = value.as_array();
        if (items.empty()) {
          out_ += "[]";
          return;
        }
        out_ += '[';
        for (size_t i = 0; i < items.size(); ++i) {
          if (i > 0) out_ += options_.item_separator;
          newline(depth + 1);
          write(items[i], depth + 1);
        }
        newline(depth);
        out_ += ']';
        return;
      }
      case Value::Kind::object: {
        std::vector<const Object::Entry*> entries;
        for (const Object::Entry& entry : value.as_object()) entries.push_back(&entry);
        if (entries.empty()) {
          out_ += "{}";
          return;
        }
        if (options_.sort_keys) {
          std::stable_sort(entries.begin(), entries.end(),
                           [](const auto* a, const auto* b) { return a->first < b->first; });
        }
        out_ += '{';
        for (size_t i = 0; i < entries.size(); ++i) {
          if (i > 0) out_ += options_.item_separator;
          newline(depth + 1);
          append_json_string(out_, entries[i]->first, options_.ensure_ascii);
          out_ += options_.key_separator;
          write(entries[i]->second, depth + 1);
        }
        newline(depth);
        out_ += '}';
        return;
      }
      default: throw EvalError(fmt::format("Object of type {} is not JSON serializable", value.type_name()));
    }
  }

  std::string take() { return std::move(out_); }

 private:
  void newline(size_t depth) {
    if (!options_.indent) return;
    out_ += '\n';
    for (size_t i = 0; i < depth; ++i) out_ += *options_.indent;
  }

  const JsonOptions& options_;
  std::string out_;
};

Value from_element(simdjson::dom::element element) {
  switch (element.type()) {
    case simdjson::dom::element_type::ARRAY: {
      Array items;
      for (simdjson::dom::element item : element.get_array()) items.push_back(from_element(item));
      return Value(std::move(items));
    }
    case simdjson::dom::element_type::OBJECT: {
      Object object;
      for (simdjson::dom::key_value_pair field : element.get_object()) {
        object.set(std::string(field.key), from_element(field.value));
      }
      return Value(std::move(object));
    }
    case simdjson::dom::element_type::INT64: return Value(int64_t(element.get_int64()));
    case simdjson::dom::element_type::UINT64: return Value(double(uint64_t(element.get_uint64())));
    case simdjson::dom::element_type::DOUBLE: return Value(double(element.get_double()));
    case simdjson::dom::element_type::STRING: return Value(std::string_view(element.get_string()));
    case simdjson::dom::element_type::BOOL: return Value(bool(element.get_bool()));
    case simdjson::dom::element_type::NULL_VALUE: return Value::none();
  }
  return Value::none();
}

}  // namespace

std::string to_json(const Value& value, const JsonOptions& options) {
  JsonWriter writer(options);
  writer.write(value, 0);
  return writer.take();
}

Value value_from_json(std::string_view json) {
  simdjson::dom::parser parser;
  const simdjson::padded_string padded(json);
  simdjson::dom::element root;
  if (const auto error = parser.parse(padded).get(root); error) {
    throw std::invalid_argument(fmt::format("invalid JSON: {}", simdjson::error_message(error)));
  }
  return from_element(root);
}

}  // namespace rs::jinja
