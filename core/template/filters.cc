// Jinja's filters (`value | name(args)`) as Jinja 3.1 defines them, with
// transformers' tojson (json.dumps, no HTML escaping).
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <unordered_map>
#include <unordered_set>

#include "core/template/arguments.h"
#include "core/template/builtins.h"
#include "core/template/error.h"
#include "core/template/json.h"
#include "core/template/limits.h"
#include "core/template/operators.h"
#include "core/template/python_string.h"

namespace rs::jinja {
namespace {

using FilterFunction = Value (*)(const Value& input, const Args& args);

int64_t length_of(const Value& value) {
  switch (value.kind()) {
    case Value::Kind::undefined: return 0;
    case Value::Kind::string: return int64_t(py::length(value.as_string()));
    case Value::Kind::array:
      if (value.is_generator()) break;
      return int64_t(value.as_array().size());
    case Value::Kind::object: return int64_t(value.as_object().size());
    default: break;
  }
  throw EvalError(fmt::format("object of type '{}' has no len()", value.type_name()));
}

Value lower_if_string(const Value& value) { return value.is_string() ? Value(py::lower(value.as_string())) : value; }

// Jinja's attribute getter: "a.b.0" looks up each part as an item, digits as an index.
class AttributePath {
 public:
  explicit AttributePath(const Value& attribute) {
    if (attribute.is_undefined() || attribute.is_none()) return;
    if (!attribute.is_string()) {
      parts_.push_back(attribute);
      return;
    }
    for (const std::string& part : py::split(attribute.as_string(), std::string_view("."))) {
      const bool digits =
          !part.empty() && std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; });
      parts_.push_back(digits ? Value(int64_t(std::strtoll(part.c_str(), nullptr, 10))) : Value(part));
    }
  }

  Value operator()(Value item, const Value& fallback = Value()) const {
    for (const Value& part : parts_) {
      item = get_item(item, part);
      if (item.is_undefined() && !fallback.is_undefined()) item = fallback;
    }
    return item;
  }

 private:
  std::vector<Value> parts_;
};

// Python's float(text), or nullopt where it raises ValueError.
std::optional<double> parse_float(std::string_view text) {
  text = py::strip(text);
  std::string cleaned;
  for (size_t i = 0; i < text.size(); ++i) {
    const bool between_digits = i > 0 && i + 1 < text.size() && std::isdigit(static_cast<unsigned char>(text[i - 1])) &&
                                std::isdigit(static_cast<unsigned char>(text[i + 1]));
    if (text[i] == '_' && !between_digits) return std::nullopt;
    if (text[i] != '_') cleaned += text[i];
  }
  std::string lowered = py::lower(cleaned);
  const std::string_view unsigned_part =
      std::string_view(lowered).substr(!lowered.empty() && (lowered[0] == '+' || lowered[0] == '-'));
  const bool special = unsigned_part == "inf" || unsigned_part == "infinity" || unsigned_part == "nan";
  const bool numeric = !unsigned_part.empty() &&
                       unsigned_part.find_first_not_of("0123456789.e+-") == std::string_view::npos &&
                       unsigned_part.find_first_of("0123456789") != std::string_view::npos && unsigned_part[0] != 'e';
  if (!special && !numeric) return std::nullopt;
  char* end = nullptr;
  const double value = std::strtod(cleaned.c_str(), &end);
  if (end != cleaned.c_str() + cleaned.size()) return std::nullopt;
  return value;
}

// Python's int(text, base), or nullopt where it raises ValueError.
std::optional<int64_t> parse_int(std::string_view text, int base) {
  text = py::strip(text);
  bool negative = false;
  if (!text.empty() && (text[0] == '+' || text[0] == '-')) {
    negative = text[0] == '-';
    text.remove_prefix(1);
  }
  if (text.size() > 2 && text[0] == '0') {
    const char prefix = char(text[1] | 0x20);
    if ((base == 16 && prefix == 'x') || (base == 8 && prefix == 'o') || (base == 2 && prefix == 'b'))
      text.remove_prefix(2);
  }
  std::string digits;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '_' && i > 0 && i + 1 < text.size() && text[i - 1] != '_') continue;
    digits += text[i];
  }
  int64_t value = 0;
  const auto result = std::from_chars(digits.data(), digits.data() + digits.size(), value, base);
  if (digits.empty() || result.ec != std::errc() || result.ptr != digits.data() + digits.size()) return std::nullopt;
  return negative ? -value : value;
}

// A key for unique(): equal for values Python hashes alike (1, 1.0, True).
std::string hash_key(const Value& value) {
  switch (value.kind()) {
    case Value::Kind::boolean:
    case Value::Kind::integer: return "n" + std::to_string(value.as_int());
    case Value::Kind::floating: {
      const double d = value.as_double();
      return d == std::floor(d) && std::abs(d) < 9e18 ? "n" + std::to_string(int64_t(d)) : "f" + format_float(d);
    }
    case Value::Kind::string: return "s" + value.as_string();
    case Value::Kind::array:
      if (value.is_tuple()) {
        std::string key = "t";
        for (const Value& item : value.as_array()) key += hash_key(item) + '\0';
        return key;
      }
      [[fallthrough]];
    case Value::Kind::object: throw EvalError(fmt::format("unhashable type: '{}'", value.type_name()));
    default: return value.repr();
  }
}

Value sorted(Array items, bool reverse, const std::function<Value(const Value&)>& key) {
  std::vector<std::pair<Value, Value>> keyed;  // (key, item)
  keyed.reserve(items.size());
  for (Value& item : items) keyed.emplace_back(key(item), std::move(item));
  // Stable both ways, as Python's sorted(reverse=True) is.
  std::stable_sort(keyed.begin(), keyed.end(), [&](const auto& a, const auto& b) {
    return reverse ? compare(b.first, a.first, "<") == -1 : compare(a.first, b.first, "<") == -1;
  });
  Array out;
  out.reserve(keyed.size());
  for (auto& entry : keyed) out.push_back(std::move(entry.second));
  return Value(std::move(out));
}

// Python's round(x, digits): exact decimal rounding, half to even.
Value round_common(const Value& value, int64_t digits) {
  if (!value.is_number()) throw EvalError(fmt::format("type {} doesn't define __round__ method", value.type_name()));
  if (!value.is_float()) {
    if (digits >= 0) return value.as_int();
    if (digits < -18) return int64_t(0);
    int64_t unit = 1;
    for (int64_t i = 0; i < -digits; ++i) unit *= 10;
    const int64_t x = value.as_int();
    int64_t quotient = x / unit, remainder = x % unit;
    if (remainder < 0) remainder += unit, --quotient;
    if (2 * remainder > unit || (2 * remainder == unit && quotient % 2 != 0)) ++quotient;
    return quotient * unit;
  }
  const double x = value.as_double();
  if (!std::isfinite(x)) return x;
  if (digits >= 0) {
    // glibc prints the exact binary value correctly rounded, as Python's round does.
    const std::string text = fmt::format("{:.{}f}", x, std::min<int64_t>(digits, 330));
    return std::strtod(text.c_str(), nullptr);
  }
  const double unit = std::pow(10.0, double(-digits));
  return std::nearbyint(x / unit) * unit;
}

Value select_items(const Value& input, const Args& args, bool by_attribute, bool keep) {
  if (args.positional.size() < (by_attribute ? 1u : 0u)) throw EvalError("Missing parameter for attribute name");
  const AttributePath path(by_attribute ? args.positional[0] : Value());
  const size_t test_at = by_attribute ? 1 : 0;
  Args test_args;
  test_args.positional.assign(args.positional.begin() + long(std::min(args.positional.size(), test_at + 1)),
                              args.positional.end());
  test_args.keyword = args.keyword;
  Array out;
  for (const Value& item : iterate(input)) {
    const Value subject = path(item);
    bool passes;
    if (args.positional.size() > test_at) {
      const Value& test = args.positional[test_at];
      if (!test.is_string()) throw EvalError("a test name must be a string");
      passes = apply_test(test.as_string(), subject, test_args);
    } else {
      passes = subject.truthy();
    }
    if (passes == keep) out.push_back(item);
  }
  return Value::generator(std::move(out));
}

Value min_or_max(const Value& input, const Args& args, bool max) {
  const BoundArgs bound(max ? "max" : "min", args, {"case_sensitive", "attribute"});
  const Array items = iterate(input);
  if (items.empty()) return Value::undefined("No aggregated item, sequence was empty.");
  const AttributePath path(bound[1]);
  const bool case_sensitive = bound.boolean(0, false);
  const auto key = [&](const Value& item) { return case_sensitive ? path(item) : lower_if_string(path(item)); };
  size_t best = 0;
  Value best_key = key(items[0]);
  for (size_t i = 1; i < items.size(); ++i) {
    Value k = key(items[i]);
    if (compare(k, best_key, max ? ">" : "<") == (max ? 1 : -1)) best = i, best_key = std::move(k);
  }
  return items[best];
}

Value tojson(const Value& input, const Args& args) {
  const BoundArgs bound("tojson", args, {"ensure_ascii", "indent", "separators", "sort_keys"});
  JsonOptions options;
  options.ensure_ascii = bound.boolean(0, false);
  options.sort_keys = bound.boolean(3, false);
  if (const Value& indent = bound[1]; indent.is_string()) {
    options.indent = indent.as_string();
  } else if (indent.is_int() || indent.is_bool()) {
    options.indent = std::string(size_t(std::max<int64_t>(0, indent.as_int())), ' ');
  } else if (!indent.is_undefined() && !indent.is_none()) {
    throw EvalError(fmt::format("tojson(): indent must be an integer or a string, not {}", indent.type_name()));
  }
  if (options.indent) options.item_separator = ",";
  if (const Value& separators = bound[2]; separators.is_array()) {
    const Array& pair = separators.as_array();
    if (pair.size() != 2 || !pair[0].is_string() || !pair[1].is_string()) {
      throw EvalError("tojson(): separators must be a pair of strings");
    }
    options.item_separator = pair[0].as_string();
    options.key_separator = pair[1].as_string();
  }
  std::string json = to_json(input, options);
  limits::check_string_size(json.size());
  return Value(std::move(json));
}

Value indent(const Value& input, const Args& args) {
  const BoundArgs bound("indent", args, {"width", "first", "blank"});
  if (!input.require_defined().is_string())
    throw EvalError(fmt::format("expected a string, not {}", input.type_name()));
  const std::string& text = input.as_string();
  const std::string indentation =
      bound[0].is_string() ? bound[0].as_string() : std::string(size_t(std::max<int64_t>(0, bound.integer(0, 4))), ' ');
  // Jinja appends a newline first so that splitlines() keeps a trailing empty line.
  const std::vector<std::string> lines = py::split_lines(text + "\n");
  std::string out;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i > 0) out += '\n';
    if ((i > 0 || bound.boolean(1, false)) && (bound.boolean(2, false) || !lines[i].empty())) out += indentation;
    out += lines[i];
    limits::check_string_size(out.size());
  }
  return Value(std::move(out));
}

Value escape_html(const Value& input) {
  std::string out;
  for (char c : input.str()) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&#34;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return Value(std::move(out));
}

Value title_case(const Value& input) {
  // Jinja's title: each run between [-\s({[<] separators gets its first letter upper-cased.
  const std::string text = input.str();
  std::string out;
  bool word_start = true;
  for (size_t pos = 0; pos < text.size();) {
    const size_t start = pos;
    const char32_t c = py::next_code_point(text, pos);
    if (py::is_malformed_byte(text, start, pos)) {
      out += text[start];
      continue;
    }
    const bool separator = py::is_space(c) || c == '-' || c == '(' || c == '{' || c == '[' || c == '<';
    std::string one;
    py::append_utf8(one, c);
    out += separator ? one : word_start ? py::upper(one) : py::lower(one);
    word_start = separator;
  }
  return Value(std::move(out));
}

const std::unordered_map<std::string_view, FilterFunction>& filters() {
  static const std::unordered_map<std::string_view, FilterFunction> table = [] {
    std::unordered_map<std::string_view, FilterFunction> t = {
        {"abs",
         [](const Value& v, const Args& a) -> Value {
           BoundArgs("abs", a, {});
           if (!v.is_number()) throw EvalError(fmt::format("bad operand type for abs(): '{}'", v.type_name()));
           return v.is_float() ? Value(std::abs(v.as_double())) : v.as_int() < 0 ? ops::negate(v) : Value(v.as_int());
         }},
        {"attr",
         [](const Value& v, const Args& a) {
           const BoundArgs bound("attr", a, {"name"});
           return get_attribute(v, bound.string(0).value_or(""));
         }},
        {"capitalize",
         [](const Value& v, const Args& a) {
           BoundArgs("capitalize", a, {});
           return Value(py::capitalize(v.str()));
         }},
        {"length",
         [](const Value& v, const Args& a) {
           BoundArgs("length", a, {});
           return Value(length_of(v));
         }},
        {"default",
         [](const Value& v, const Args& a) {
           const BoundArgs bound("default", a, {"default_value", "boolean"});
           const bool use_default = v.is_undefined() || (bound.boolean(1, false) && !v.truthy());
           return use_default ? (bound.given(0) ? bound[0] : Value("")) : v;
         }},
        {"dictsort",
         [](const Value& v, const Args& a) {
           const BoundArgs bound("dictsort", a, {"case_sensitive", "by", "reverse"});
           if (!v.is_object()) throw EvalError("dictsort(): expected a mapping");
           const std::string by = bound.string(1).value_or("key");
           if (by != "key" && by != "value") throw EvalError("You can only sort by either \"key\" or \"value\"");
           const size_t position = by == "key" ? 0 : 1;
           const bool case_sensitive = bound.boolean(0, false);
           Array pairs;
           for (const auto& [key, value] : v.as_object()) pairs.push_back(Value::tuple({Value(key), value}));
           return sorted(std::move(pairs), bound.boolean(2, false), [&](const Value& pair) {
             const Value& k = pair.as_array()[position];
             return case_sensitive ? k : lower_if_string(k);
           });
         }},
        {"escape",
         [](const Value& v, const Args& a) {
           BoundArgs("escape", a, {});
           return escape_html(v);
         }},
        {"first",
         [](const Value& v, const Args& a) {
           BoundArgs("first", a, {});
           const Array items = iterate(v);
           return items.empty() ? Value::undefined("No first item, sequence was empty.") : items.front();
         }},
        {"last",
         [](const Value& v, const Args& a) {
           BoundArgs("last", a, {});
           const Array items = iterate(v);
           return items.empty() ? Value::undefined("No last item, sequence was empty.") : items.back();
         }},
        {"float",
         [](const Value& v, const Args& a) -> Value {
           const BoundArgs bound("float", a, {"default"});
           const Value fallback = bound.given(0) ? bound[0] : Value(0.0);
           if (v.require_defined().is_number()) return v.as_double();
           if (v.is_string()) {
             const std::optional<double> parsed = parse_float(v.as_string());
             return parsed ? Value(*parsed) : fallback;
           }
           return fallback;
         }},
        {"int",
         [](const Value& v, const Args& a) -> Value {
           const BoundArgs bound("int", a, {"default", "base"});
           const Value fallback = bound.given(0) ? bound[0] : Value(0);
           if (v.require_defined().is_int() || v.is_bool()) return v.as_int();
           if (v.is_float()) {
             const double d = v.as_double();
             if (std::isnan(d)) return fallback;
             if (!std::isfinite(d) || std::abs(d) >= 9.2e18)
               throw EvalError("cannot convert float to a 64-bit integer");
             return int64_t(d);
           }
           if (!v.is_string()) return fallback;
           if (const std::optional<int64_t> parsed = parse_int(v.as_string(), int(bound.integer(1, 10))))
             return *parsed;
           const std::optional<double> parsed = parse_float(v.as_string());
           if (!parsed || std::isnan(*parsed)) return fallback;
           if (!std::isfinite(*parsed) || std::abs(*parsed) >= 9.2e18)
             throw EvalError("cannot convert float to a 64-bit integer");
           return int64_t(*parsed);
         }},
        {"indent", indent},
        {"items",
         [](const Value& v, const Args& a) {
           BoundArgs("items", a, {});
           if (v.is_undefined()) return Value::generator({});
           if (!v.is_object()) throw EvalError("Can only get item pairs from a mapping.");
           Array pairs;
           for (const auto& [key, value] : v.as_object()) pairs.push_back(Value::tuple({Value(key), value}));
           return Value::generator(std::move(pairs));
         }},
        {"join",
         [](const Value& v, const Args& a) {
           const BoundArgs bound("join", a, {"d", "attribute"});
           const std::string separator = bound.given(0) ? bound[0].str() : "";
           const AttributePath path(bound[1]);
           std::string out;
           bool first = true;
           for (const Value& item : iterate(v)) {
             if (!first) out += separator;
             first = false;
             out += path(item).str();
             limits::check_string_size(out.size());
           }
           return Value(std::move(out));
         }},
        {"list",
         [](const Value& v, const Args& a) {
           BoundArgs("list", a, {});
           return Value(iterate(v));
         }},
        {"lower",
         [](const Value& v, const Args& a) {
           BoundArgs("lower", a, {});
           return Value(py::lower(v.str()));
         }},
        {"map",
         [](const Value& v, const Args& a) {
           Array out;
           if (a.positional.empty()) {
             const Value* attribute = nullptr;
             Value fallback;
             for (const auto& [name, value] : a.keyword) {
               if (name == "attribute")
                 attribute = &value;
               else if (name == "default")
                 fallback = value;
               else
                 throw EvalError(fmt::format("Unexpected keyword argument '{}'", name));
             }
             if (attribute == nullptr) throw EvalError("map requires a filter argument");
             const AttributePath path(*attribute);
             for (const Value& item : iterate(v)) out.push_back(path(item, fallback));
             return Value::generator(std::move(out));
           }
           if (!a.positional[0].is_string()) throw EvalError("map(): the filter name must be a string");
           const Args filter_args{{a.positional.begin() + 1, a.positional.end()}, a.keyword};
           for (const Value& item : iterate(v))
             out.push_back(apply_filter(a.positional[0].as_string(), item, filter_args));
           return Value::generator(std::move(out));
         }},
        {"max", [](const Value& v, const Args& a) { return min_or_max(v, a, true); }},
        {"min", [](const Value& v, const Args& a) { return min_or_max(v, a, false); }},
        {"reject", [](const Value& v, const Args& a) { return select_items(v, a, false, false); }},
        {"rejectattr", [](const Value& v, const Args& a) { return select_items(v, a, true, false); }},
        {"select", [](const Value& v, const Args& a) { return select_items(v, a, false, true); }},
        {"selectattr", [](const Value& v, const Args& a) { return select_items(v, a, true, true); }},
        {"replace",
         [](const Value& v, const Args& a) {
           const BoundArgs bound("replace", a, {"old", "new", "count"});
           const std::string text = v.str(), old = bound[0].str(), replacement = bound[1].str();
           const long count = bound.given(2) && !bound[2].is_none() ? long(bound.integer(2, -1)) : -1;
           limits::check_string_size(text.size() + py::count(text, old) * replacement.size());
           return Value(py::replace(text, old, replacement, count));
         }},
        {"reverse",
         [](const Value& v, const Args& a) {
           BoundArgs("reverse", a, {});
           if (v.is_string()) {
             std::vector<std::string_view> chars = py::code_points(v.as_string());
             std::string out;
             for (auto it = chars.rbegin(); it != chars.rend(); ++it) out += *it;
             return Value(std::move(out));
           }
           Array items = iterate(v);
           std::reverse(items.begin(), items.end());
           return Value::generator(std::move(items));  // Python's reversed() iterator
         }},
        {"round",
         [](const Value& v, const Args& a) -> Value {
           const BoundArgs bound("round", a, {"precision", "method"});
           const int64_t precision = bound.integer(0, 0);
           const std::string method = bound.string(1).value_or("common");
           if (method == "common") return round_common(v, precision);
           if (method != "ceil" && method != "floor") throw EvalError("method must be common, ceil or floor");
           if (!v.is_number()) throw EvalError(fmt::format("must be real number, not {}", v.type_name()));
           const double unit = std::pow(10.0, double(precision));
           const double scaled = v.as_double() * unit;
           return (method == "ceil" ? std::ceil(scaled) : std::floor(scaled)) / unit;
         }},
        {"safe",
         [](const Value& v, const Args& a) {
           BoundArgs("safe", a, {});
           return Value(v.str());
         }},
        {"sort",
         [](const Value& v, const Args& a) {
           const BoundArgs bound("sort", a, {"reverse", "case_sensitive", "attribute"});
           const bool case_sensitive = bound.boolean(1, false);
           std::vector<AttributePath> paths;
           if (bound[2].is_string()) {
             for (const std::string& part : py::split(bound[2].as_string(), std::string_view(",")))
               paths.emplace_back(Value(part));
           } else {
             paths.emplace_back(bound[2]);
           }
           return sorted(iterate(v), bound.boolean(0, false), [&](const Value& item) {
             if (paths.size() == 1) return case_sensitive ? paths[0](item) : lower_if_string(paths[0](item));
             Array keys;
             for (const AttributePath& path : paths)
               keys.push_back(case_sensitive ? path(item) : lower_if_string(path(item)));
             return Value(std::move(keys));
           });
         }},
        {"string",
         [](const Value& v, const Args& a) {
           BoundArgs("string", a, {});
           return Value(v.str());
         }},
        {"sum",
         [](const Value& v, const Args& a) {
           const BoundArgs bound("sum", a, {"attribute", "start"});
           const AttributePath path(bound[0]);
           Value total = bound.given(1) ? bound[1] : Value(0);
           for (const Value& item : iterate(v)) total = ops::add(total, path(item));
           return total;
         }},
        {"title",
         [](const Value& v, const Args& a) {
           BoundArgs("title", a, {});
           return title_case(v);
         }},
        {"tojson", tojson},
        {"trim",
         [](const Value& v, const Args& a) {
           const BoundArgs bound("trim", a, {"chars"});
           const std::optional<std::string> chars = bound.string(0);
           const std::string text = v.str();
           return Value(py::strip(text, chars ? std::optional<std::string_view>(*chars) : std::nullopt));
         }},
        {"unique",
         [](const Value& v, const Args& a) {
           const BoundArgs bound("unique", a, {"case_sensitive", "attribute"});
           const bool case_sensitive = bound.boolean(0, false);
           const AttributePath path(bound[1]);
           std::unordered_set<std::string> seen;
           Array out;
           for (const Value& item : iterate(v)) {
             const Value key = case_sensitive ? path(item) : lower_if_string(path(item));
             if (seen.insert(hash_key(key)).second) out.push_back(item);
           }
           return Value::generator(std::move(out));
         }},
        {"upper",
         [](const Value& v, const Args& a) {
           BoundArgs("upper", a, {});
           return Value(py::upper(v.str()));
         }},
    };
    // Jinja's aliases.
    for (const auto& [alias, name] : {std::pair{"count", "length"}, {"d", "default"}, {"e", "escape"}})
      t[alias] = t.at(name);
    return t;
  }();
  return table;
}

}  // namespace

bool has_filter(std::string_view name) { return filters().contains(name); }

Value apply_filter(std::string_view name, const Value& input, const Args& args) {
  const auto it = filters().find(name);
  if (it == filters().end()) throw EvalError(fmt::format("no filter named '{}'", name));
  try {
    return it->second(input, args);
  } catch (const EvalError& e) {
    throw EvalError(fmt::format("{} (in filter '{}')", e.what(), name));
  }
}

}  // namespace rs::jinja
