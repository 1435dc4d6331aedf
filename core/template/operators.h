#pragma once
// Python's arithmetic and `in` on values, as Jinja evaluates `+ - * / // % **`
// and `in`; EvalError where Python raises (TypeError, ZeroDivisionError) and
// where an undefined operand is used.
#include "core/template/value.h"

namespace rs::jinja::ops {

Value add(const Value& a, const Value& b);
Value subtract(const Value& a, const Value& b);
Value multiply(const Value& a, const Value& b);
Value divide(const Value& a, const Value& b);
Value floor_divide(const Value& a, const Value& b);
Value modulo(const Value& a, const Value& b);
Value power(const Value& a, const Value& b);
Value negate(const Value& a);
Value plus(const Value& a);
// `item in container`.
bool contains(const Value& container, const Value& item);

}  // namespace rs::jinja::ops
