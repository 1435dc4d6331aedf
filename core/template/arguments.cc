#include "core/template/arguments.h"

#include <fmt/format.h>

#include "core/template/error.h"

namespace rs::jinja {

BoundArgs::BoundArgs(std::string_view function, const Args& args, std::vector<std::string_view> parameters,
                     bool variadic)
    : function_(function), parameters_(std::move(parameters)), values_(parameters_.size()), given_(parameters_.size()) {
  for (size_t i = 0; i < args.positional.size(); ++i) {
    if (i < parameters_.size()) {
      values_[i] = args.positional[i];
      given_[i] = true;
    } else if (variadic) {
      rest_.push_back(args.positional[i]);
    } else {
      throw EvalError(fmt::format("{}() takes at most {} argument{} ({} given)", function_, parameters_.size(),
                                  parameters_.size() == 1 ? "" : "s", args.positional.size()));
    }
  }
  for (const auto& [name, value] : args.keyword) {
    size_t i = 0;
    while (i < parameters_.size() && parameters_[i] != name) ++i;
    if (i == parameters_.size())
      throw EvalError(fmt::format("{}() got an unexpected keyword argument '{}'", function_, name));
    if (given_[i]) throw EvalError(fmt::format("{}() got multiple values for argument '{}'", function_, name));
    values_[i] = value;
    given_[i] = true;
  }
}

int64_t BoundArgs::integer(size_t index, int64_t fallback) const {
  if (!given_[index]) return fallback;
  const Value& value = values_[index];
  if (!value.is_int() && !value.is_bool()) {
    throw EvalError(
        fmt::format("{}(): '{}' must be an integer, not {}", function_, parameters_[index], value.type_name()));
  }
  return value.as_int();
}

bool BoundArgs::boolean(size_t index, bool fallback) const {
  return given_[index] ? values_[index].truthy() : fallback;
}

std::optional<std::string> BoundArgs::string(size_t index) const {
  if (!given_[index] || values_[index].is_none()) return std::nullopt;
  const Value& value = values_[index];
  if (!value.is_string()) {
    throw EvalError(
        fmt::format("{}(): '{}' must be a string, not {}", function_, parameters_[index], value.type_name()));
  }
  return value.as_string();
}

}  // namespace rs::jinja
