// Jinja's tests: `value is name(args)`, with Python's view of types (a bool is
// a number, an undefined value is iterable and empty).
#include <fmt/format.h>

#include <unordered_map>

#include "core/template/arguments.h"
#include "core/template/builtins.h"
#include "core/template/error.h"
#include "core/template/operators.h"
#include "core/template/python_string.h"

namespace rs::jinja {
namespace {

// A test looks at the value alone, or compares it with one argument.
struct TestFunction {
  bool (*plain)(const Value& value) = nullptr;
  bool (*against)(const Value& value, const Value& other) = nullptr;
};

bool is_odd(const Value& v) { return ops::modulo(v, Value(2)) == Value(1); }
bool is_iterable(const Value& v) { return v.is_undefined() || v.is_string() || v.is_array() || v.is_object(); }
bool is_sequence(const Value& v) { return is_iterable(v) && !v.is_generator(); }
bool is_lower(const Value& v) {
  const std::string text = v.str();
  return py::lower(text) == text && py::upper(text) != text;
}
bool is_upper(const Value& v) {
  const std::string text = v.str();
  return py::upper(text) == text && py::lower(text) != text;
}
// Python's `is`: the same object for containers, the same singleton or equal scalar otherwise.
bool same_as(const Value& a, const Value& b) {
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case Value::Kind::array: return &a.as_array() == &b.as_array();
    case Value::Kind::object:
    case Value::Kind::namespace_: return &a.as_object() == &b.as_object();
    case Value::Kind::function: return &a.as_function() == &b.as_function();
    default: return a == b;
  }
}

const std::unordered_map<std::string_view, TestFunction>& tests() {
  static const std::unordered_map<std::string_view, TestFunction> table = [] {
    std::unordered_map<std::string_view, TestFunction> t = {
        {"defined", {.plain = [](const Value& v) { return !v.is_undefined(); }}},
        {"undefined", {.plain = [](const Value& v) { return v.is_undefined(); }}},
        {"none", {.plain = [](const Value& v) { return v.is_none(); }}},
        {"boolean", {.plain = [](const Value& v) { return v.is_bool(); }}},
        {"true", {.plain = [](const Value& v) { return v.is_bool() && v.as_bool(); }}},
        {"false", {.plain = [](const Value& v) { return v.is_bool() && !v.as_bool(); }}},
        {"integer", {.plain = [](const Value& v) { return v.is_int(); }}},
        {"float", {.plain = [](const Value& v) { return v.is_float(); }}},
        {"number", {.plain = [](const Value& v) { return v.is_number(); }}},
        {"string", {.plain = [](const Value& v) { return v.is_string(); }}},
        {"mapping", {.plain = [](const Value& v) { return v.is_object(); }}},
        {"sequence", {.plain = is_sequence}},
        {"iterable", {.plain = is_iterable}},
        {"callable", {.plain = [](const Value& v) { return v.is_function(); }}},
        {"escaped", {.plain = [](const Value&) { return false; }}},
        {"odd", {.plain = is_odd}},
        {"even", {.plain = [](const Value& v) { return ops::modulo(v, Value(2)) == Value(0); }}},
        {"lower", {.plain = is_lower}},
        {"upper", {.plain = is_upper}},
        {"divisibleby", {.against = [](const Value& v, const Value& n) { return ops::modulo(v, n) == Value(0); }}},
        {"eq", {.against = [](const Value& a, const Value& b) { return a == b; }}},
        {"ne", {.against = [](const Value& a, const Value& b) { return !(a == b); }}},
        {"lt", {.against = [](const Value& a, const Value& b) { return compare(a, b, "<") == -1; }}},
        {"le",
         {.against =
              [](const Value& a, const Value& b) {
                const int r = compare(a, b, "<=");
                return r == -1 || r == 0;
              }}},
        {"gt", {.against = [](const Value& a, const Value& b) { return compare(a, b, ">") == 1; }}},
        {"ge",
         {.against =
              [](const Value& a, const Value& b) {
                const int r = compare(a, b, ">=");
                return r == 1 || r == 0;
              }}},
        {"in", {.against = [](const Value& v, const Value& container) { return ops::contains(container, v); }}},
        {"sameas", {.against = same_as}},
        {"filter", {.plain = [](const Value& name) { return name.is_string() && has_filter(name.as_string()); }}},
        {"test", {.plain = [](const Value& name) { return name.is_string() && has_test(name.as_string()); }}},
    };
    // Jinja's aliases.
    for (const auto& [alias, name] : {std::pair{"equalto", "eq"},
                                      {"==", "eq"},
                                      {"!=", "ne"},
                                      {"lessthan", "lt"},
                                      {"<", "lt"},
                                      {"<=", "le"},
                                      {"greaterthan", "gt"},
                                      {">", "gt"},
                                      {">=", "ge"}}) {
      t[alias] = t.at(name);
    }
    return t;
  }();
  return table;
}

}  // namespace

bool has_test(std::string_view name) { return tests().contains(name); }

bool apply_test(std::string_view name, const Value& input, const Args& args) {
  const auto it = tests().find(name);
  if (it == tests().end()) throw EvalError(fmt::format("no test named '{}'", name));
  const TestFunction& test = it->second;
  try {
    const BoundArgs bound(name, args,
                          test.against ? std::vector<std::string_view>{"other"} : std::vector<std::string_view>{});
    if (test.plain) return test.plain(input);
    if (!bound.given(0)) throw EvalError("the test takes one argument");
    return test.against(input, bound[0]);
  } catch (const EvalError& e) {
    throw EvalError(fmt::format("{} (in test '{}')", e.what(), name));
  }
}

}  // namespace rs::jinja
