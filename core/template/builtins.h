#pragma once
// What templates call by name: filters (`x | trim`), tests (`x is string`),
// methods of values (`s.strip()`, `d.items()`), and Jinja's global functions
// (range, namespace, dict). All throw EvalError for misuse.
#include <string_view>

#include "core/template/value.h"

namespace rs::jinja {

bool has_filter(std::string_view name);
Value apply_filter(std::string_view name, const Value& input, const Args& args);

bool has_test(std::string_view name);
bool apply_test(std::string_view name, const Value& input, const Args& args);

// `object.name` as Jinja's immutable sandbox resolves it: a method of the value
// (bound to it), else the item of that name, else an undefined value naming
// what was missing. Methods that would change the value are undefined ("unsafe").
Value get_attribute(const Value& object, std::string_view name);
// `object[key]`: the item (negative indexes count from the end), else the
// attribute named by a string key, else undefined.
Value get_item(const Value& object, const Value& key);

// `object[start:stop:step]` with Python's clamping; undefined for what cannot be sliced.
Value get_slice(const Value& object, const Value& start, const Value& stop, const Value& step);

// range, namespace and dict.
Object global_functions();

// Python's iteration: the items of a list, the keys of a dict, the code points
// of a string; nothing for undefined. EvalError for anything else.
Array iterate(const Value& value);

}  // namespace rs::jinja
