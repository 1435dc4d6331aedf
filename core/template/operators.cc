#include "core/template/operators.h"

#include <fmt/format.h>

#include <cmath>
#include <limits>

#include "core/template/error.h"
#include "core/template/limits.h"

namespace rs::jinja::ops {
namespace {

[[noreturn]] void unsupported(std::string_view op, const Value& a, const Value& b) {
  throw EvalError(fmt::format("unsupported operand type(s) for {}: '{}' and '{}'", op, a.type_name(), b.type_name()));
}

void require_defined(const Value& a, const Value& b) {
  a.require_defined();
  b.require_defined();
}

[[noreturn]] void overflow() { throw EvalError("integer overflow: the result does not fit in 64 bits"); }

template <typename Operation>
int64_t checked(Operation operation, int64_t a, int64_t b) {
  int64_t result;
  if (operation(a, b, &result)) overflow();
  return result;
}
constexpr auto checked_add = [](int64_t a, int64_t b, int64_t* r) { return __builtin_add_overflow(a, b, r); };
constexpr auto checked_sub = [](int64_t a, int64_t b, int64_t* r) { return __builtin_sub_overflow(a, b, r); };
constexpr auto checked_mul = [](int64_t a, int64_t b, int64_t* r) { return __builtin_mul_overflow(a, b, r); };

// The size of `unit` repeated `times` times, saturating just past `bound`.
size_t repeated_size(size_t unit, int64_t times, size_t bound) {
  return unit == 0 ? 0 : uint64_t(times) > bound / unit ? bound + 1 : unit * size_t(times);
}

bool is_integral(const Value& v) { return v.is_int() || v.is_bool(); }

void require_nonzero(const Value& divisor) {
  if (divisor.as_double() == 0)
    throw EvalError(is_integral(divisor) ? "integer division or modulo by zero" : "float division by zero");
}

// Python's float divmod: the quotient floored, the remainder with the divisor's sign.
std::pair<double, double> float_divmod(double x, double y) {
  double mod = std::fmod(x, y);
  double div = (x - mod) / y;
  if (mod != 0) {
    if ((y < 0) != (mod < 0)) {
      mod += y;
      div -= 1.0;
    }
  } else {
    mod = std::copysign(0.0, y);
  }
  double floor_div;
  if (div != 0) {
    floor_div = std::floor(div);
    if (div - floor_div > 0.5) floor_div += 1.0;
  } else {
    floor_div = std::copysign(0.0, x / y);
  }
  return {floor_div, mod};
}

Value repeat(const Value& sequence, int64_t times) {
  if (times <= 0) return sequence.is_string() ? Value("") : sequence.is_tuple() ? Value::tuple({}) : Value(Array{});
  if (sequence.is_string()) {
    const std::string& text = sequence.as_string();
    limits::check_string_size(repeated_size(text.size(), times, limits::max_string_bytes));
    std::string out;
    out.reserve(text.size() * size_t(times));
    for (int64_t i = 0; i < times; ++i) out += text;
    return Value(std::move(out));
  }
  const Array& items = sequence.as_array();
  limits::check_items(repeated_size(items.size(), times, limits::max_items));
  Array out;
  out.reserve(items.size() * size_t(times));
  for (int64_t i = 0; i < times; ++i) out.insert(out.end(), items.begin(), items.end());
  return sequence.is_tuple() ? Value::tuple(std::move(out)) : Value(std::move(out));
}

// Python's `text % values` for %s, %r, %d, %i, %f (with an optional .precision) and %%.
Value format_percent(const std::string& text, const Value& values) {
  const Array arguments = values.is_tuple() ? values.as_array() : Array{values};
  size_t next = 0;
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    size_t at = i + 1;
    int precision = -1;
    if (at < text.size() && text[at] == '.') {
      precision = 0;
      while (++at < text.size() && text[at] >= '0' && text[at] <= '9') precision = precision * 10 + (text[at] - '0');
    }
    if (at >= text.size()) throw EvalError("incomplete format");
    const char conversion = text[at];
    i = at;
    if (conversion == '%') {
      out += '%';
      continue;
    }
    if (next >= arguments.size()) throw EvalError("not enough arguments for format string");
    const Value& argument = arguments[next++];
    switch (conversion) {
      case 's': out += argument.str(); break;
      case 'r': out += argument.repr(); break;
      case 'd':
      case 'i':
        if (!argument.is_number())
          throw EvalError(
              fmt::format("%{} format: a real number is required, not {}", conversion, argument.type_name()));
        out += std::to_string(argument.is_float() ? int64_t(argument.as_double()) : argument.as_int());
        break;
      case 'f':
        if (!argument.is_number()) throw EvalError(fmt::format("must be real number, not {}", argument.type_name()));
        out += fmt::format("{:.{}f}", argument.as_double(), precision < 0 ? 6 : precision);
        break;
      default: throw EvalError(fmt::format("unsupported format character '{}'", conversion));
    }
    limits::check_string_size(out.size());
  }
  // Python skips this check for a list or dict operand (it could be a mapping for %(name)s).
  if (next < arguments.size() && !values.is_array() && !values.is_object()) {
    throw EvalError("not all arguments converted during string formatting");
  }
  return Value(std::move(out));
}

}  // namespace

Value add(const Value& a, const Value& b) {
  require_defined(a, b);
  if (a.is_number() && b.is_number()) {
    if (a.is_float() || b.is_float()) return a.as_double() + b.as_double();
    return checked(checked_add, a.as_int(), b.as_int());
  }
  if (a.is_string() && b.is_string()) {
    limits::check_string_size(a.as_string().size() + b.as_string().size());
    return a.as_string() + b.as_string();
  }
  if (a.is_array() && b.is_array() && a.sequence() == b.sequence() && !a.is_generator()) {
    limits::check_items(a.as_array().size() + b.as_array().size());
    Array items = a.as_array();
    items.insert(items.end(), b.as_array().begin(), b.as_array().end());
    return a.is_tuple() ? Value::tuple(std::move(items)) : Value(std::move(items));
  }
  if (a.is_string() || (a.is_array() && !a.is_generator())) {
    throw EvalError(
        fmt::format("can only concatenate {} (not \"{}\") to {}", a.type_name(), b.type_name(), a.type_name()));
  }
  unsupported("+", a, b);
}

Value subtract(const Value& a, const Value& b) {
  require_defined(a, b);
  if (!a.is_number() || !b.is_number()) unsupported("-", a, b);
  if (a.is_float() || b.is_float()) return a.as_double() - b.as_double();
  return checked(checked_sub, a.as_int(), b.as_int());
}

Value multiply(const Value& a, const Value& b) {
  require_defined(a, b);
  if (a.is_number() && b.is_number()) {
    if (a.is_float() || b.is_float()) return a.as_double() * b.as_double();
    return checked(checked_mul, a.as_int(), b.as_int());
  }
  const auto repeatable = [](const Value& v) { return v.is_string() || (v.is_array() && !v.is_generator()); };
  if (repeatable(a) && is_integral(b)) return repeat(a, b.as_int());
  if (repeatable(b) && is_integral(a)) return repeat(b, a.as_int());
  if (repeatable(a) || repeatable(b)) {
    const Value& count = repeatable(a) ? b : a;
    throw EvalError(fmt::format("can't multiply sequence by non-int of type '{}'", count.type_name()));
  }
  unsupported("*", a, b);
}

Value divide(const Value& a, const Value& b) {
  require_defined(a, b);
  if (!a.is_number() || !b.is_number()) unsupported("/", a, b);
  require_nonzero(b);
  return a.as_double() / b.as_double();
}

Value floor_divide(const Value& a, const Value& b) {
  require_defined(a, b);
  if (!a.is_number() || !b.is_number()) unsupported("//", a, b);
  require_nonzero(b);
  if (a.is_float() || b.is_float()) return float_divmod(a.as_double(), b.as_double()).first;
  const int64_t x = a.as_int(), y = b.as_int();
  if (x == std::numeric_limits<int64_t>::min() && y == -1) overflow();
  const int64_t q = x / y;
  return q - ((x % y != 0) && ((x < 0) != (y < 0)) ? 1 : 0);
}

Value modulo(const Value& a, const Value& b) {
  require_defined(a, b);
  if (a.is_string()) return format_percent(a.as_string(), b);
  if (!a.is_number() || !b.is_number()) unsupported("%", a, b);
  require_nonzero(b);
  if (a.is_float() || b.is_float()) return float_divmod(a.as_double(), b.as_double()).second;
  const int64_t x = a.as_int(), y = b.as_int();
  if (y == -1) return int64_t(0);
  const int64_t r = x % y;
  return r != 0 && ((r < 0) != (y < 0)) ? r + y : r;
}

Value power(const Value& a, const Value& b) {
  require_defined(a, b);
  if (!a.is_number() || !b.is_number()) unsupported("** or pow()", a, b);
  if (a.is_float() || b.is_float() || b.as_int() < 0) {
    if (a.as_double() == 0 && b.as_double() < 0) throw EvalError("0.0 cannot be raised to a negative power");
    return std::pow(a.as_double(), b.as_double());
  }
  int64_t result = 1, base = a.as_int();
  for (int64_t exponent = b.as_int(); exponent > 0; exponent >>= 1) {
    if (exponent & 1) result = checked(checked_mul, result, base);
    if (exponent > 1) base = checked(checked_mul, base, base);
  }
  return result;
}

Value negate(const Value& a) {
  a.require_defined();
  if (!a.is_number()) throw EvalError(fmt::format("bad operand type for unary -: '{}'", a.type_name()));
  if (a.is_float()) return -a.as_double();
  return checked(checked_sub, 0, a.as_int());
}

Value plus(const Value& a) {
  a.require_defined();
  if (!a.is_number()) throw EvalError(fmt::format("bad operand type for unary +: '{}'", a.type_name()));
  return a.is_bool() ? Value(a.as_int()) : a;
}

bool contains(const Value& container, const Value& item) {
  switch (container.kind()) {
    case Value::Kind::undefined: return false;  // Jinja's Undefined iterates as empty
    case Value::Kind::string:
      if (!item.is_string()) {
        throw EvalError(fmt::format("'in <string>' requires string as left operand, not {}", item.type_name()));
      }
      return container.as_string().find(item.as_string()) != std::string::npos;
    case Value::Kind::array:
      for (const Value& element : container.as_array()) {
        if (element == item) return true;
      }
      return false;
    case Value::Kind::object:
      if (item.is_array() || item.is_object()) throw EvalError(fmt::format("unhashable type: '{}'", item.type_name()));
      return item.is_string() && container.as_object().find(item.as_string()) != nullptr;
    default: throw EvalError(fmt::format("argument of type '{}' is not iterable", container.type_name()));
  }
}

}  // namespace rs::jinja::ops
