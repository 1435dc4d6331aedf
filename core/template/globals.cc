// Jinja's global functions that chat templates call: range, namespace, dict.
#include <fmt/format.h>

#include "core/template/builtins.h"
#include "core/template/error.h"
#include "core/template/limits.h"

namespace rs::jinja {
namespace {

Value range(const Args& args) {
  if (!args.keyword.empty()) throw EvalError("range() takes no keyword arguments");
  if (args.positional.empty() || args.positional.size() > 3) {
    throw EvalError(fmt::format("range expected 1 to 3 arguments, got {}", args.positional.size()));
  }
  for (const Value& arg : args.positional) {
    if (!arg.is_int() && !arg.is_bool()) {
      throw EvalError(fmt::format("'{}' object cannot be interpreted as an integer", arg.type_name()));
    }
  }
  const bool one = args.positional.size() == 1;
  const int64_t start = one ? 0 : args.positional[0].as_int();
  const int64_t stop = one ? args.positional[0].as_int() : args.positional[1].as_int();
  const int64_t step = args.positional.size() == 3 ? args.positional[2].as_int() : 1;
  if (step == 0) throw EvalError("range() arg 3 must not be zero");
  // Count first, in 128 bits, so that a huge range fails before it is built.
  const __int128 span = step > 0 ? __int128(stop) - start : __int128(start) - stop;
  const __int128 count =
      span <= 0 ? 0 : (span + (step > 0 ? step : -__int128(step)) - 1) / (step > 0 ? step : -__int128(step));
  limits::check_items(count > __int128(limits::max_items) ? limits::max_items + 1 : size_t(count));
  Array items;
  items.reserve(size_t(count));
  for (__int128 i = 0, value = start; i < count; ++i, value += step) items.emplace_back(int64_t(value));
  return Value(std::move(items));
}

// dict(mapping, **kwargs) as Python builds it.
Object dict_from(std::string_view function, const Args& args) {
  if (args.positional.size() > 1)
    throw EvalError(fmt::format("{} expected at most 1 argument, got {}", function, args.positional.size()));
  Object object;
  if (!args.positional.empty()) {
    const Value& source = args.positional[0];
    if (!source.is_object())
      throw EvalError(fmt::format("{}() argument must be a mapping, not {}", function, source.type_name()));
    for (const auto& [key, value] : source.as_object()) object.set(key, value);
  }
  for (const auto& [key, value] : args.keyword) object.set(key, value);
  return object;
}

}  // namespace

Object global_functions() {
  Object globals;
  globals.set("range", Value::function("range", range));
  globals.set("namespace", Value::function("namespace", [](const Args& args) {
                return Value::make_namespace(dict_from("namespace", args));
              }));
  globals.set("dict", Value::function("dict", [](const Args& args) { return Value(dict_from("dict", args)); }));
  return globals;
}

}  // namespace rs::jinja
