// `a.b`, `a[b]`, `a[i:j]` and the methods of str, dict and list: what Jinja's
// immutable sandbox lets a template reach.
#include <fmt/format.h>

#include <algorithm>
#include <unordered_map>

#include "core/template/arguments.h"
#include "core/template/builtins.h"
#include "core/template/error.h"
#include "core/template/limits.h"
#include "core/template/python_string.h"

namespace rs::jinja {
namespace {

using Method = Value (*)(const Value& self, const Args& args);
using MethodTable = std::unordered_map<std::string_view, Method>;

void no_arguments(std::string_view method, const Args& args) { BoundArgs(method, args, {}); }

Value strings(const std::vector<std::string>& parts) {
  Array items;
  items.reserve(parts.size());
  for (const std::string& part : parts) items.emplace_back(part);
  return Value(std::move(items));
}

std::optional<std::string_view> optional_chars(const BoundArgs& args, size_t index) {
  if (!args.given(index) || args[index].is_none()) return std::nullopt;
  if (!args[index].is_string())
    throw EvalError(fmt::format("strip arg must be None or str, not {}", args[index].type_name()));
  return args[index].as_string();
}

Value strip_method(const Value& self, const Args& args, bool left, bool right) {
  const BoundArgs bound(left && right ? "strip" : left ? "lstrip" : "rstrip", args, {"chars"});
  return Value(py::strip(self.as_string(), optional_chars(bound, 0), left, right));
}

Value split_method(const Value& self, const Args& args, bool from_right) {
  const BoundArgs bound(from_right ? "rsplit" : "split", args, {"sep", "maxsplit"});
  const std::optional<std::string> separator = bound.string(0);
  return strings(py::split(self.as_string(), separator ? std::optional<std::string_view>(*separator) : std::nullopt,
                           bound.integer(1, -1), from_right));
}

// str.startswith / endswith: a prefix, or a tuple of them.
Value affix_method(const Value& self, const Args& args, bool prefix) {
  const char* name = prefix ? "startswith" : "endswith";
  const BoundArgs bound(name, args, {prefix ? "prefix" : "suffix"});
  const std::string& text = self.as_string();
  const auto matches = [&](const Value& affix) {
    if (!affix.is_string()) {
      throw EvalError(fmt::format("{} first arg must be str or a tuple of str, not {}", name, affix.type_name()));
    }
    const std::string& a = affix.as_string();
    return a.size() <= text.size() &&
           (prefix ? text.compare(0, a.size(), a) == 0 : text.compare(text.size() - a.size(), a.size(), a) == 0);
  };
  if (bound[0].is_array()) {
    for (const Value& affix : bound[0].as_array()) {
      if (matches(affix)) return true;
    }
    return false;
  }
  return matches(bound[0]);
}

template <typename Predicate>
Value all_code_points(const Value& self, const Args& args, const char* name, Predicate predicate) {
  no_arguments(name, args);
  const std::string& text = self.as_string();
  if (text.empty()) return false;
  for (size_t pos = 0; pos < text.size();) {
    if (!predicate(py::next_code_point(text, pos))) return false;
  }
  return true;
}

bool is_ascii_digit(char32_t c) { return c >= '0' && c <= '9'; }
bool is_ascii_alpha(char32_t c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// str.format with positional ({} {0}) and named ({name}) fields and !s / !r;
// format specs are not supported.
Value format_method(const Value& self, const Args& args) {
  const std::string& text = self.as_string();
  std::string out;
  size_t automatic = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if ((c == '{' || c == '}') && i + 1 < text.size() && text[i + 1] == c) {
      out += c;
      ++i;
      continue;
    }
    if (c == '}') throw EvalError("Single '}' encountered in format string");
    if (c != '{') {
      out += c;
      continue;
    }
    const size_t close = text.find('}', i);
    if (close == std::string::npos) throw EvalError("Single '{' encountered in format string");
    std::string field = text.substr(i + 1, close - i - 1);
    char conversion = 's';
    if (const size_t bang = field.find('!'); bang != std::string::npos) {
      if (bang + 2 != field.size() || (field[bang + 1] != 's' && field[bang + 1] != 'r')) {
        throw EvalError(fmt::format("unsupported format field '{{{}}}'", field));
      }
      conversion = field[bang + 1];
      field.resize(bang);
    }
    if (field.find_first_of(":.[") != std::string::npos)
      throw EvalError(fmt::format("unsupported format field '{{{}}}'", field));
    const Value* value = nullptr;
    if (field.empty() || std::all_of(field.begin(), field.end(), [](char d) { return d >= '0' && d <= '9'; })) {
      const size_t index = field.empty() ? automatic++ : std::stoul(field);
      if (index >= args.positional.size())
        throw EvalError(fmt::format("Replacement index {} out of range for positional args tuple", index));
      value = &args.positional[index];
    } else {
      for (const auto& [name, v] : args.keyword) {
        if (name == field) value = &v;
      }
      if (value == nullptr) throw EvalError(fmt::format("KeyError: '{}'", field));
    }
    out += conversion == 'r' ? value->repr() : value->str();
    limits::check_string_size(out.size());
    i = close;
  }
  return Value(std::move(out));
}

const MethodTable& string_methods() {
  static const MethodTable methods = {
      {"strip", [](const Value& s, const Args& a) { return strip_method(s, a, true, true); }},
      {"lstrip", [](const Value& s, const Args& a) { return strip_method(s, a, true, false); }},
      {"rstrip", [](const Value& s, const Args& a) { return strip_method(s, a, false, true); }},
      {"split", [](const Value& s, const Args& a) { return split_method(s, a, false); }},
      {"rsplit", [](const Value& s, const Args& a) { return split_method(s, a, true); }},
      {"splitlines",
       [](const Value& s, const Args& a) {
         const BoundArgs bound("splitlines", a, {"keepends"});
         return strings(py::split_lines(s.as_string(), bound.boolean(0, false)));
       }},
      {"startswith", [](const Value& s, const Args& a) { return affix_method(s, a, true); }},
      {"endswith", [](const Value& s, const Args& a) { return affix_method(s, a, false); }},
      {"upper",
       [](const Value& s, const Args& a) {
         no_arguments("upper", a);
         return Value(py::upper(s.as_string()));
       }},
      {"lower",
       [](const Value& s, const Args& a) {
         no_arguments("lower", a);
         return Value(py::lower(s.as_string()));
       }},
      {"title",
       [](const Value& s, const Args& a) {
         no_arguments("title", a);
         return Value(py::title(s.as_string()));
       }},
      {"capitalize",
       [](const Value& s, const Args& a) {
         no_arguments("capitalize", a);
         return Value(py::capitalize(s.as_string()));
       }},
      {"swapcase",
       [](const Value& s, const Args& a) {
         no_arguments("swapcase", a);
         return Value(py::swapcase(s.as_string()));
       }},
      {"replace",
       [](const Value& s, const Args& a) {
         const BoundArgs bound("replace", a, {"old", "new", "count"});
         const std::optional<std::string> old = bound.string(0), replacement = bound.string(1);
         if (!old || !replacement) throw EvalError("replace() takes the old and new strings");
         const size_t hits = py::count(s.as_string(), *old);
         limits::check_string_size(s.as_string().size() + hits * replacement->size());
         return Value(py::replace(s.as_string(), *old, *replacement, long(bound.integer(2, -1))));
       }},
      {"find",
       [](const Value& s, const Args& a) {
         const BoundArgs bound("find", a, {"sub"});
         return Value(int64_t(py::find(s.as_string(), bound.string(0).value_or(""), false)));
       }},
      {"rfind",
       [](const Value& s, const Args& a) {
         const BoundArgs bound("rfind", a, {"sub"});
         return Value(int64_t(py::find(s.as_string(), bound.string(0).value_or(""), true)));
       }},
      {"count",
       [](const Value& s, const Args& a) {
         const BoundArgs bound("count", a, {"sub"});
         return Value(int64_t(py::count(s.as_string(), bound.string(0).value_or(""))));
       }},
      {"join",
       [](const Value& s, const Args& a) {
         const BoundArgs bound("join", a, {"iterable"});
         std::string out;
         const Array items = iterate(bound[0]);
         for (size_t i = 0; i < items.size(); ++i) {
           if (!items[i].is_string()) {
             throw EvalError(fmt::format("sequence item {}: expected str instance, {} found", i, items[i].type_name()));
           }
           if (i > 0) out += s.as_string();
           out += items[i].as_string();
           limits::check_string_size(out.size());
         }
         return Value(std::move(out));
       }},
      {"format", format_method},
      {"removeprefix",
       [](const Value& s, const Args& a) {
         const BoundArgs bound("removeprefix", a, {"prefix"});
         const std::string prefix = bound.string(0).value_or("");
         const std::string& text = s.as_string();
         return Value(text.compare(0, prefix.size(), prefix) == 0 ? text.substr(prefix.size()) : text);
       }},
      {"removesuffix",
       [](const Value& s, const Args& a) {
         const BoundArgs bound("removesuffix", a, {"suffix"});
         const std::string suffix = bound.string(0).value_or("");
         const std::string& text = s.as_string();
         const bool ends =
             suffix.size() <= text.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
         return Value(ends && !suffix.empty() ? text.substr(0, text.size() - suffix.size()) : text);
       }},
      {"isdigit", [](const Value& s, const Args& a) { return all_code_points(s, a, "isdigit", is_ascii_digit); }},
      {"isalpha", [](const Value& s, const Args& a) { return all_code_points(s, a, "isalpha", is_ascii_alpha); }},
      {"isalnum",
       [](const Value& s, const Args& a) {
         return all_code_points(s, a, "isalnum", [](char32_t c) { return is_ascii_alpha(c) || is_ascii_digit(c); });
       }},
      {"isspace", [](const Value& s, const Args& a) { return all_code_points(s, a, "isspace", py::is_space); }},
      {"isupper",
       [](const Value& s, const Args& a) {
         no_arguments("isupper", a);
         const std::string& t = s.as_string();
         return Value(py::upper(t) == t && py::lower(t) != t);
       }},
      {"islower",
       [](const Value& s, const Args& a) {
         no_arguments("islower", a);
         const std::string& t = s.as_string();
         return Value(py::lower(t) == t && py::upper(t) != t);
       }},
  };
  return methods;
}

Value object_items(const Object& object) {
  Array items;
  items.reserve(object.size());
  for (const auto& [key, value] : object) items.push_back(Value::tuple({Value(key), value}));
  return Value(std::move(items));
}

const MethodTable& dict_methods() {
  static const MethodTable methods = {
      {"items",
       [](const Value& d, const Args& a) {
         no_arguments("items", a);
         return object_items(d.as_object());
       }},
      {"keys",
       [](const Value& d, const Args& a) {
         no_arguments("keys", a);
         Array keys;
         for (const auto& entry : d.as_object()) keys.emplace_back(entry.first);
         return Value(std::move(keys));
       }},
      {"values",
       [](const Value& d, const Args& a) {
         no_arguments("values", a);
         Array values;
         for (const auto& entry : d.as_object()) values.push_back(entry.second);
         return Value(std::move(values));
       }},
      {"get",
       [](const Value& d, const Args& a) {
         const BoundArgs bound("get", a, {"key", "default"});
         const Value* found = bound[0].is_string() ? d.as_object().find(bound[0].as_string()) : nullptr;
         return found ? *found : bound.given(1) ? bound[1] : Value::none();
       }},
  };
  return methods;
}

const MethodTable& list_methods() {
  static const MethodTable methods = {
      {"index",
       [](const Value& l, const Args& a) {
         const BoundArgs bound("index", a, {"value"});
         const Array& items = l.as_array();
         for (size_t i = 0; i < items.size(); ++i) {
           if (items[i] == bound[0]) return Value(int64_t(i));
         }
         throw EvalError(fmt::format("{} is not in list", bound[0].repr()));
       }},
      {"count",
       [](const Value& l, const Args& a) {
         const BoundArgs bound("count", a, {"value"});
         return Value(int64_t(std::count(l.as_array().begin(), l.as_array().end(), bound[0])));
       }},
  };
  return methods;
}

// Methods that would change a dict or list: the sandbox hides them.
bool is_unsafe(const Value& object, std::string_view name) {
  static constexpr std::string_view dict_unsafe[] = {"clear", "pop", "popitem", "setdefault", "update"};
  static constexpr std::string_view list_unsafe[] = {"append", "clear",  "extend",  "insert",
                                                     "pop",    "remove", "reverse", "sort"};
  const auto listed = [&](const auto& names) {
    return std::find(std::begin(names), std::end(names), name) != std::end(names);
  };
  return object.is_object() ? listed(dict_unsafe)
                            : object.is_array() && object.sequence() == Value::Sequence::list && listed(list_unsafe);
}

Value bound_method(const Value& self, std::string_view name, Method method) {
  return Value::function(fmt::format("{}.{}", self.type_name(), name),
                         [self, method](const Args& args) { return method(self, args); });
}

bool object_is_list(const Value& value) { return value.sequence() == Value::Sequence::list; }

const MethodTable* methods_of(const Value& value) {
  switch (value.kind()) {
    case Value::Kind::string: return &string_methods();
    case Value::Kind::object: return &dict_methods();
    case Value::Kind::array: return object_is_list(value) ? &list_methods() : nullptr;
    default: return nullptr;
  }
}

Value no_attribute(const Value& object, std::string_view name) {
  return Value::undefined(fmt::format("'{}' has no attribute '{}'", object_description(object), name));
}

Value no_element(const Value& object, const Value& key) {
  return Value::undefined(fmt::format("{} has no element {}", object_description(object), key.repr()));
}

// Python's slice.indices(): the clamped start, stop and step for a sequence of `length`.
struct SliceBounds {
  int64_t start, stop, step;
};

std::optional<SliceBounds> slice_bounds(const Value& start, const Value& stop, const Value& step, int64_t length) {
  const auto is_index = [](const Value& v) { return v.is_none() || v.is_undefined() || v.is_int() || v.is_bool(); };
  if (!is_index(start) || !is_index(stop) || !is_index(step)) return std::nullopt;
  const auto given = [](const Value& v) { return v.is_int() || v.is_bool(); };
  const int64_t s = given(step) ? step.as_int() : 1;
  if (s == 0) throw EvalError("slice step cannot be zero");
  const int64_t lower = s < 0 ? -1 : 0;
  const int64_t upper = s < 0 ? length - 1 : length;
  const auto clamp = [&](const Value& v, int64_t fallback) {
    if (!given(v)) return fallback;
    int64_t i = v.as_int();
    if (i < 0) i += length;
    return std::clamp(i, lower, upper);
  };
  return SliceBounds{clamp(start, s < 0 ? upper : lower), clamp(stop, s < 0 ? lower : upper), s};
}

}  // namespace

Value get_attribute(const Value& object, std::string_view name) {
  object.require_defined();
  if (object.is_namespace()) {
    const Value* attribute = object.as_object().find(name);
    return attribute ? *attribute : no_attribute(object, name);
  }
  if (const MethodTable* methods = methods_of(object)) {
    if (const auto it = methods->find(name); it != methods->end()) return bound_method(object, name, it->second);
  }
  if (is_unsafe(object, name)) {
    return Value::undefined(
        fmt::format("access to attribute '{}' of '{}' object is unsafe.", name, object.type_name()));
  }
  if (object.is_object()) {
    if (const Value* item = object.as_object().find(name)) return *item;
  }
  return no_attribute(object, name);
}

Value get_item(const Value& object, const Value& key) {
  object.require_defined();
  if (((object.is_array() && !object.is_generator()) || object.is_string()) && (key.is_int() || key.is_bool())) {
    const auto element = [&](size_t length, auto at) {
      int64_t index = key.as_int();
      if (index < 0) index += int64_t(length);
      return index >= 0 && index < int64_t(length) ? at(size_t(index)) : no_element(object, key);
    };
    if (object.is_array()) {
      return element(object.as_array().size(), [&](size_t i) { return object.as_array()[i]; });
    }
    const std::vector<std::string_view> chars = py::code_points(object.as_string());
    return element(chars.size(), [&](size_t i) { return Value(chars[i]); });
  }
  if (object.is_object() && key.is_string()) {
    if (const Value* item = object.as_object().find(key.as_string())) return *item;
  }
  if (key.is_string()) return get_attribute(object, key.as_string());
  return no_element(object, key);
}

Value get_slice(const Value& object, const Value& start, const Value& stop, const Value& step) {
  object.require_defined();
  if ((!object.is_array() || object.is_generator()) && !object.is_string()) return no_element(object, Value("slice"));
  const std::vector<std::string_view> chars =
      object.is_string() ? py::code_points(object.as_string()) : std::vector<std::string_view>{};
  const int64_t length = int64_t(object.is_string() ? chars.size() : object.as_array().size());
  const std::optional<SliceBounds> bounds = slice_bounds(start, stop, step, length);
  if (!bounds) return no_element(object, Value("slice"));
  std::vector<size_t> indexes;
  for (int64_t i = bounds->start; bounds->step > 0 ? i < bounds->stop : i > bounds->stop; i += bounds->step) {
    indexes.push_back(size_t(i));
  }
  if (object.is_string()) {
    std::string out;
    for (size_t i : indexes) out += chars[i];
    return Value(std::move(out));
  }
  Array items;
  items.reserve(indexes.size());
  for (size_t i : indexes) items.push_back(object.as_array()[i]);
  return object.is_tuple() ? Value::tuple(std::move(items)) : Value(std::move(items));
}

Array iterate(const Value& value) {
  switch (value.kind()) {
    case Value::Kind::undefined: return {};
    case Value::Kind::array: return value.as_array();
    case Value::Kind::object: {
      Array keys;
      keys.reserve(value.as_object().size());
      for (const auto& entry : value.as_object()) keys.emplace_back(entry.first);
      return keys;
    }
    case Value::Kind::string: {
      Array chars;
      for (std::string_view c : py::code_points(value.as_string())) chars.emplace_back(c);
      return chars;
    }
    default: throw EvalError(fmt::format("'{}' object is not iterable", value.type_name()));
  }
}

}  // namespace rs::jinja
