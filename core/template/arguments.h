#pragma once
// Binds the arguments of a call to a builtin's parameters, by position or by
// name, as Python does; EvalError names the builtin when they do not fit.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/template/value.h"

namespace rs::jinja {

class BoundArgs {
 public:
  // With `variadic`, positional arguments past `parameters` are kept for rest().
  BoundArgs(std::string_view function, const Args& args, std::vector<std::string_view> parameters,
            bool variadic = false);

  bool given(size_t index) const { return given_[index]; }
  const Value& operator[](size_t index) const { return values_[index]; }  // undefined when not given
  const std::vector<Value>& rest() const { return rest_; }

  // Typed parameters with their defaults; EvalError for a value of the wrong type.
  int64_t integer(size_t index, int64_t fallback) const;
  bool boolean(size_t index, bool fallback) const;        // Python truthiness
  std::optional<std::string> string(size_t index) const;  // nullopt when not given or None

 private:
  std::string_view function_;
  std::vector<std::string_view> parameters_;
  std::vector<Value> values_;
  std::vector<bool> given_;
  std::vector<Value> rest_;
};

}  // namespace rs::jinja
