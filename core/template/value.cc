#include "core/template/value.h"

#include <fmt/format.h>

#include <charconv>
#include <cmath>

#include "core/template/error.h"
#include "core/template/limits.h"
#include "core/template/python_string.h"

namespace rs::jinja {
namespace {

std::string repr_at(const Value& value, int depth);

std::string join_repr(const Array& items, int depth) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += ", ";
    out += repr_at(items[i], depth + 1);
  }
  return out;
}

std::string object_repr(const Object& object, int depth) {
  std::string out = "{";
  bool first = true;
  for (const auto& [key, value] : object) {
    if (!first) out += ", ";
    first = false;
    out += py::repr(key) + ": " + repr_at(value, depth + 1);
  }
  return out + "}";
}

// `value` as Python's repr() prints it, `depth` containers down: a namespace may hold itself.
std::string repr_at(const Value& value, int depth) {
  if (depth > limits::max_depth) {
    throw EvalError(fmt::format("a value nested deeper than {} levels cannot be printed (a namespace that holds "
                                "itself?)",
                                limits::max_depth));
  }
  switch (value.kind()) {
    case Value::Kind::undefined: return "Undefined";
    case Value::Kind::none: return "None";
    case Value::Kind::boolean: return value.as_bool() ? "True" : "False";
    case Value::Kind::integer: return std::to_string(value.as_int());
    case Value::Kind::floating: return format_float(value.as_double());
    case Value::Kind::string: return py::repr(value.as_string());
    case Value::Kind::array: {
      if (value.is_generator()) return "<generator object>";
      const std::string items = join_repr(value.as_array(), depth);
      if (!value.is_tuple()) return "[" + items + "]";
      return "(" + items + (value.as_array().size() == 1 ? ",)" : ")");
    }
    case Value::Kind::object: return object_repr(value.as_object(), depth);
    case Value::Kind::namespace_: return "<Namespace " + object_repr(value.as_object(), depth) + ">";
    case Value::Kind::function: return "<function " + value.as_function().name + ">";
  }
  return "";
}

// Compares an int with a double exactly, as Python does.
int compare_int_double(int64_t i, double d) {
  if (std::isnan(d)) return 2;  // unordered: neither <, == nor >
  if (d >= 9.3e18) return -1;
  if (d <= -9.3e18) return 1;
  const double whole = std::floor(d);
  const int64_t w = int64_t(whole);
  if (i != w) return i < w ? -1 : 1;
  return whole == d ? 0 : -1;
}

}  // namespace

// Strings and lists are what a render's data grows in; what it makes of them is charged to its budget.
Value::Value(std::string s) : kind_(Kind::string) {
  limits::charge_bytes(s.size());
  data_ = std::make_shared<const std::string>(std::move(s));
}

Value::Value(Array items) : kind_(Kind::array) {
  limits::charge_bytes(items.size() * sizeof(Value));
  data_ = std::make_shared<const Array>(std::move(items));
}

Value::Value(Object object) : kind_(Kind::object), data_(std::make_shared<Object>(std::move(object))) {}

Value Value::none() { return Value(Kind::none, std::monostate{}); }

Value Value::undefined(std::string hint) {
  return Value(Kind::undefined, std::make_shared<const std::string>(std::move(hint)));
}

Value Value::tuple(Array items) {
  Value value(std::move(items));
  value.sequence_ = Sequence::tuple;
  return value;
}

Value Value::generator(Array items) {
  Value value(std::move(items));
  value.sequence_ = Sequence::generator;
  return value;
}

Value Value::make_namespace(Object attributes) {
  return Value(Kind::namespace_, std::make_shared<Object>(std::move(attributes)));
}

Value Value::function(std::string name, std::function<Value(const Args&)> call) {
  return Value(Kind::function, std::make_shared<const Function>(Function{std::move(name), std::move(call)}));
}

double Value::as_double() const { return is_float() ? std::get<double>(data_) : double(as_int()); }

const std::string& Value::undefined_hint() const {
  static const std::string generic = "value is undefined";
  const auto* hint = std::get_if<std::shared_ptr<const std::string>>(&data_);
  return hint != nullptr && *hint ? **hint : generic;
}

const Value& Value::require_defined() const {
  if (is_undefined()) throw EvalError(undefined_hint());
  return *this;
}

bool Value::truthy() const {
  switch (kind_) {
    case Kind::undefined:
    case Kind::none: return false;
    case Kind::boolean: return as_bool();
    case Kind::integer: return as_int() != 0;
    case Kind::floating: return as_double() != 0.0;
    case Kind::string: return !as_string().empty();
    case Kind::array: return is_generator() || !as_array().empty();
    case Kind::object: return !as_object().empty();
    case Kind::namespace_:
    case Kind::function: return true;
  }
  return false;
}

std::string Value::str() const {
  switch (kind_) {
    case Kind::undefined: return "";
    case Kind::string: return as_string();
    default: return repr();
  }
}

std::string Value::repr() const { return repr_at(*this, 0); }

std::string Value::type_name() const {
  switch (kind_) {
    case Kind::undefined: return "Undefined";
    case Kind::none: return "NoneType";
    case Kind::boolean: return "bool";
    case Kind::integer: return "int";
    case Kind::floating: return "float";
    case Kind::string: return "str";
    case Kind::array: return is_tuple() ? "tuple" : is_generator() ? "generator" : "list";
    case Kind::object: return "dict";
    case Kind::namespace_: return "Namespace";
    case Kind::function: return "function";
  }
  return "";
}

size_t Object::position(std::string_view key) const {
  if (index_.empty()) {
    for (size_t i = 0; i < entries_.size(); ++i) {
      if (entries_[i].first == key) return i;
    }
    return npos;
  }
  const auto it = index_.find(key);
  return it == index_.end() ? npos : it->second;
}

const Value* Object::find(std::string_view key) const {
  const size_t i = position(key);
  return i == npos ? nullptr : &entries_[i].second;
}

void Object::set(std::string key, Value value) {
  if (const size_t i = position(key); i != npos) {
    entries_[i].second = std::move(value);
    return;
  }
  entries_.emplace_back(std::move(key), std::move(value));
  if (entries_.size() == kIndexFrom) {
    for (size_t i = 0; i < entries_.size(); ++i) index_.emplace(entries_[i].first, i);
  } else if (entries_.size() > kIndexFrom) {
    index_.emplace(entries_.back().first, entries_.size() - 1);
  }
}

bool operator==(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) {
    if (a.is_float() && b.is_float()) return a.as_double() == b.as_double();
    if (a.is_float()) return compare_int_double(b.as_int(), a.as_double()) == 0;
    if (b.is_float()) return compare_int_double(a.as_int(), b.as_double()) == 0;
    return a.as_int() == b.as_int();
  }
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case Value::Kind::undefined:
    case Value::Kind::none: return true;
    case Value::Kind::string: return a.as_string() == b.as_string();
    case Value::Kind::array:
      if (a.is_generator() || b.is_generator()) return &a.as_array() == &b.as_array();
      return a.sequence() == b.sequence() && a.as_array() == b.as_array();
    case Value::Kind::object: {
      if (a.as_object().size() != b.as_object().size()) return false;
      for (const auto& [key, value] : a.as_object()) {
        const Value* other = b.as_object().find(key);
        if (other == nullptr || !(*other == value)) return false;
      }
      return true;
    }
    case Value::Kind::namespace_: return &a.as_object() == &b.as_object();
    case Value::Kind::function: return &a.as_function() == &b.as_function();
    default: return false;
  }
}

int compare(const Value& a, const Value& b, std::string_view op) {
  a.require_defined();
  b.require_defined();
  if (a.is_number() && b.is_number()) {
    if (!a.is_float() && !b.is_float()) return a.as_int() < b.as_int() ? -1 : a.as_int() > b.as_int() ? 1 : 0;
    if (!a.is_float()) return compare_int_double(a.as_int(), b.as_double());
    if (!b.is_float()) {
      const int r = compare_int_double(b.as_int(), a.as_double());
      return r == 2 ? 2 : -r;
    }
    const double x = a.as_double(), y = b.as_double();
    return x < y ? -1 : x > y ? 1 : x == y ? 0 : 2;
  }
  if (a.is_string() && b.is_string()) {
    const int r = a.as_string().compare(b.as_string());  // UTF-8 byte order is code point order
    return r < 0 ? -1 : r > 0 ? 1 : 0;
  }
  if (a.is_array() && b.is_array() && a.sequence() == b.sequence() && !a.is_generator()) {
    const Array& x = a.as_array();
    const Array& y = b.as_array();
    for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
      if (!(x[i] == y[i])) return compare(x[i], y[i], op);
    }
    return x.size() < y.size() ? -1 : x.size() > y.size() ? 1 : 0;
  }
  throw EvalError(
      fmt::format("'{}' not supported between instances of '{}' and '{}'", op, a.type_name(), b.type_name()));
}

std::string object_description(const Value& value) {
  if (value.is_none()) return "None";
  return value.type_name() + " object";
}

std::string format_float(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value < 0 ? "-inf" : "inf";
  // The shortest round-trip digits, placed the way Python's repr() does:
  // positional for exponents in [-4, 16), scientific otherwise.
  char buffer[64];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::scientific);
  const std::string_view text(buffer, size_t(result.ptr - buffer));
  const size_t e = text.find('e');
  const bool negative = text[0] == '-';
  std::string digits;
  for (char c : text.substr(negative ? 1 : 0, e - (negative ? 1 : 0))) {
    if (c != '.') digits += c;
  }
  const int exponent = std::stoi(std::string(text.substr(e + 1)));
  std::string out = negative ? "-" : "";
  if (exponent < -4 || exponent >= 16) {
    out += digits[0];
    if (digits.size() > 1) out.append(".").append(digits, 1);
    out += fmt::format("e{}{:02d}", exponent < 0 ? '-' : '+', std::abs(exponent));
  } else if (exponent < 0) {
    out.append("0.").append(size_t(-exponent - 1), '0').append(digits);
  } else if (size_t(exponent) + 1 >= digits.size()) {
    out.append(digits).append(size_t(exponent) + 1 - digits.size(), '0').append(".0");
  } else {
    out.append(digits, 0, size_t(exponent) + 1).append(".").append(digits, size_t(exponent) + 1);
  }
  return out;
}

}  // namespace rs::jinja
