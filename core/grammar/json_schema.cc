#include "core/grammar/json_schema.h"

#include <simdjson.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/base/json_write.h"
#include "core/grammar/regex.h"

namespace rs::grammar {
namespace {

namespace dom = simdjson::dom;

constexpr int kMaxSchemaDepth = 64;          // subschemas inside subschemas
constexpr uint32_t kMaxItems = 1000;         // lengths and item counts: the automaton unrolls counted repetition
constexpr size_t kMaxExpressions = 200'000;  // per schema: bounds memory before the automaton's own limits
constexpr double kMaxIntegerBound = 0x1p53;  // integer bounds are read as doubles, exact below 2^53

// What a keyword constrains. A keyword missing from kKeywords is not supported.
enum class Applies : uint8_t {
  nothing,   // annotations, and $defs (read through $ref)
  any_type,  // type, nullable
  whole,     // $ref, anyOf, oneOf, allOf, enum, const: each stands for the whole schema
  string,
  number,
  object,
  array,
};

constexpr std::pair<std::string_view, Applies> kKeywords[] = {
    {"title", Applies::nothing},
    {"description", Applies::nothing},
    {"$schema", Applies::nothing},
    {"$id", Applies::nothing},
    {"$comment", Applies::nothing},
    {"default", Applies::nothing},
    {"examples", Applies::nothing},
    {"deprecated", Applies::nothing},
    {"readOnly", Applies::nothing},
    {"writeOnly", Applies::nothing},
    {"strict", Applies::nothing},
    {"$defs", Applies::nothing},
    {"definitions", Applies::nothing},
    {"discriminator", Applies::nothing},  // OpenAPI's (and pydantic's) hint of which oneOf alternative applies
    {"type", Applies::any_type},
    {"nullable", Applies::any_type},
    {"$ref", Applies::whole},
    {"anyOf", Applies::whole},
    {"oneOf", Applies::whole},
    {"allOf", Applies::whole},
    {"enum", Applies::whole},
    {"const", Applies::whole},
    {"minLength", Applies::string},
    {"maxLength", Applies::string},
    {"pattern", Applies::string},
    {"format", Applies::string},
    {"minimum", Applies::number},
    {"maximum", Applies::number},
    {"exclusiveMinimum", Applies::number},
    {"exclusiveMaximum", Applies::number},
    {"properties", Applies::object},
    {"required", Applies::object},
    {"additionalProperties", Applies::object},
    {"items", Applies::array},
    {"prefixItems", Applies::array},
    {"additionalItems", Applies::array},
    {"minItems", Applies::array},
    {"maxItems", Applies::array},
    {"uniqueItems", Applies::array},
};

std::optional<Applies> applies_of(std::string_view keyword) {
  for (const auto& [name, applies] : kKeywords) {
    if (name == keyword) return applies;
  }
  return std::nullopt;
}

enum class JsonType : uint8_t { string, number, integer, boolean, null, object, array };

constexpr std::pair<std::string_view, JsonType> kTypeNames[] = {
    {"string", JsonType::string},   {"number", JsonType::number}, {"integer", JsonType::integer},
    {"boolean", JsonType::boolean}, {"null", JsonType::null},     {"object", JsonType::object},
    {"array", JsonType::array},
};

// The type a keyword implies when `type` is absent: {"minLength": 1} is about strings.
std::optional<JsonType> implied_type(Applies applies) {
  switch (applies) {
    case Applies::string: return JsonType::string;
    case Applies::number: return JsonType::number;
    case Applies::object: return JsonType::object;
    case Applies::array: return JsonType::array;
    default: return std::nullopt;
  }
}

bool has_type(dom::element value, JsonType type) {
  switch (type) {
    case JsonType::string: return value.is_string();
    case JsonType::number: return value.is_number();
    case JsonType::integer: {
      double d;
      return value.is_int64() || value.is_uint64() || (value.get(d) == simdjson::SUCCESS && d == std::floor(d));
    }
    case JsonType::boolean: return value.is_bool();
    case JsonType::null: return value.is_null();
    case JsonType::object: return value.is_object();
    case JsonType::array: return value.is_array();
  }
  return false;
}

// The regular expressions of the supported string formats: simple forms, as
// llama.cpp's converter has them, each a subset of what the format allows.
std::optional<std::string> format_regex(std::string_view format) {
  static constexpr std::string_view kDate = "[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])";
  static constexpr std::string_view kTime =
      "([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\\.[0-9]{3})?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])";
  static constexpr std::string_view kOctet = "(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])";
  if (format == "date") return std::string(kDate);
  if (format == "time") return std::string(kTime);
  if (format == "date-time") return std::string(kDate) + "T" + std::string(kTime);
  if (format == "uuid") return "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}";
  if (format == "ipv4") return "(" + std::string(kOctet) + "\\.){3}" + std::string(kOctet);
  if (format == "email") {
    return "[a-zA-Z0-9_%+-]+(\\.[a-zA-Z0-9_%+-]+)*@([a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?\\.)+[a-zA-Z]{2,}";
  }
  return std::nullopt;
}

// The bytes a JSON string must escape: quote, backslash, control characters.
ByteSet escaped_bytes() {
  ByteSet set;
  for (unsigned b = 0; b < 0x20; ++b) set.set(b);
  set.set('"');
  set.set('\\');
  return set;
}

// `from`'s expression `id` rebuilt in `to` with `removed` taken out of every
// byte set: it then matches exactly its strings that hold none of those bytes.
ExprId copy_without(const Grammar& from, ExprId id, const ByteSet& removed, Grammar& to,
                    std::map<ExprId, ExprId>& copies) {
  if (const auto it = copies.find(id); it != copies.end()) return it->second;
  const Expr& e = from.expr(id);
  const auto copy_items = [&] {
    std::vector<ExprId> items;
    for (const ExprId item : e.items) items.push_back(copy_without(from, item, removed, to, copies));
    return items;
  };
  ExprId copy = 0;
  switch (e.kind) {
    case ExprKind::bytes: copy = to.bytes(e.bytes & ~removed); break;
    case ExprKind::sequence: copy = to.sequence(copy_items()); break;
    case ExprKind::choice: copy = to.choice(copy_items()); break;
    case ExprKind::repeat: copy = to.repeat(copy_without(from, e.items[0], removed, to, copies), e.min, e.max); break;
    case ExprKind::rule:  // inlined: a regex never recurses
      copy = copy_without(from, from.rule(e.rule).body, removed, to, copies);
      break;
  }
  copies.emplace(id, copy);
  return copy;
}

// The tighter of two optional bounds on the same side.
std::optional<int64_t> tighter(std::optional<int64_t> a, std::optional<int64_t> b, bool lower) {
  if (!a || !b) return a ? a : b;
  return lower ? std::max(*a, *b) : std::min(*a, *b);
}

// A schema path as a JSON Pointer into the document, for messages.
std::string child(const std::string& path, std::string_view key) {
  std::string out = path + "/";
  for (const char c : key) out += c == '~' ? "~0" : c == '/' ? "~1" : std::string(1, c);
  return out;
}

std::string child(const std::string& path, size_t index) { return path + "/" + std::to_string(index); }

std::string where(const std::string& path) { return path.empty() ? "the root" : path; }

// "<keyword> at <path> <problem>", the one shape of every message.
GrammarError error(std::string_view keyword, const std::string& path, std::string_view problem) {
  return GrammarError(std::string(keyword) + " at " + where(path) + " " + std::string(problem));
}

// A rule name from a JSON Pointer's last token: runs of other characters than letters, digits and '-' become '-'.
std::string name_from(std::string_view pointer) {
  std::string name;
  for (const char c : pointer.substr(pointer.rfind('/') + 1)) {
    const bool kept = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
    if (kept) {
      name += c;
    } else if (name.empty() || name.back() != '-') {
      name += '-';
    }
  }
  return name.empty() ? "ref" : name;
}

// Keyword values, checked.

dom::array array_of(dom::element value, std::string_view keyword, const std::string& path) {
  dom::array out;
  if (value.get(out) != simdjson::SUCCESS) throw error(keyword, path, "must be an array");
  return out;
}

std::string_view string_of(dom::element value, std::string_view keyword, const std::string& path) {
  std::string_view out;
  if (value.get(out) != simdjson::SUCCESS) throw error(keyword, path, "must be a string");
  return out;
}

std::optional<std::string_view> optional_string(dom::object keywords, std::string_view keyword,
                                                const std::string& path) {
  dom::element value;
  if (keywords[keyword].get(value) != simdjson::SUCCESS) return std::nullopt;
  return string_of(value, keyword, path);
}

bool flag(dom::object keywords, std::string_view keyword, const std::string& path) {
  dom::element value;
  if (keywords[keyword].get(value) != simdjson::SUCCESS) return false;
  bool out;
  if (value.get(out) != simdjson::SUCCESS) throw error(keyword, path, "must be a boolean");
  return out;
}

// A length or item count, at most kMaxItems.
std::optional<uint32_t> count(dom::object keywords, std::string_view keyword, const std::string& path) {
  dom::element value;
  if (keywords[keyword].get(value) != simdjson::SUCCESS) return std::nullopt;
  uint64_t n;
  if (value.get(n) != simdjson::SUCCESS) throw error(keyword, path, "must be a non-negative integer");
  if (n > kMaxItems) throw error(keyword, path, "above " + std::to_string(kMaxItems) + " is not supported");
  return uint32_t(n);
}

class SchemaCompiler {
 public:
  SchemaCompiler(Grammar& grammar, dom::element document, std::string_view name)
      : grammar_(grammar),
        document_(document),
        name_(name),
        root_(grammar.declare(name)),
        first_expr_(grammar.expr_count()) {}

  // The root schema into the named rule, then every definition a $ref reached.
  RuleId compile() {
    grammar_.define(root_, schema(document_, "", 0));
    while (!pending_.empty()) {
      const PendingRef next = pending_.back();
      pending_.pop_back();
      grammar_.define(next.rule, schema(next.target, next.path, 0));
    }
    return root_;
  }

 private:
  // A $ref's target, compiled into its rule after the schema at hand: chains of refs never recurse.
  struct PendingRef {
    dom::element target;
    std::string path;
    RuleId rule;
  };

  ExprId schema(dom::element node, const std::string& path, int depth) {
    if (depth > kMaxSchemaDepth) {
      throw GrammarError("the schema nests more than " + std::to_string(kMaxSchemaDepth) + " levels deep at " +
                         where(path));
    }
    if (bool allowed; node.get(allowed) == simdjson::SUCCESS) return allowed ? any_value() : grammar_.nothing();
    dom::object keywords;
    if (node.get(keywords) != simdjson::SUCCESS) {
      throw GrammarError("the schema at " + where(path) + " is neither an object nor a boolean");
    }
    ExprId body = constraints(keywords, path, depth);
    if (flag(keywords, "nullable", path)) body = grammar_.choice({body, grammar_.literal("null")});
    check_size(path, 0);
    return body;
  }

  ExprId constraints(dom::object keywords, const std::string& path, int depth) {
    const std::string_view whole = whole_schema_keyword(keywords, path);
    if (whole == "$ref") return reference_to(string_of(keywords["$ref"].value_unsafe(), "$ref", path), path);
    // oneOf is compiled as anyOf: an instance that matches two alternatives is not ruled out.
    if (whole == "anyOf" || whole == "oneOf") return alternatives(keywords, whole, path, depth);
    if (whole == "allOf") {
      const dom::array all = array_of(keywords["allOf"].value_unsafe(), "allOf", path);
      if (all.size() != 1) throw error("allOf", path, "with other than one subschema is not supported");
      return schema(all.at(0).value_unsafe(), child(child(path, "allOf"), 0), depth + 1);
    }
    if (whole == "enum" || whole == "const") return literals(keywords, whole, path);
    const std::vector<JsonType> types = instance_types(keywords, path);
    if (types.empty()) return any_value();
    std::vector<ExprId> choices;
    for (const JsonType type : types) choices.push_back(instance(type, keywords, path, depth));
    return grammar_.choice(std::move(choices));
  }

  // Refuses unknown keywords, and returns the keyword that stands for the
  // whole schema ($ref, anyOf, …) or "" when there is none. Beside it only
  // annotations, nullable, and type with enum or const may appear: the grammar
  // cannot intersect two constraints.
  std::string_view whole_schema_keyword(dom::object keywords, const std::string& path) const {
    std::string_view whole, other;
    bool typed = false;
    for (const auto& [keyword, value] : keywords) {
      const std::optional<Applies> applies = applies_of(keyword);
      if (!applies) throw error(keyword, path, "is not supported");
      if (*applies == Applies::whole) {
        if (!whole.empty()) throw error(keyword, path, "alongside " + std::string(whole) + " is not supported");
        whole = keyword;
      } else if (keyword == "type") {
        typed = true;
      } else if (*applies != Applies::nothing && keyword != "nullable") {
        other = keyword;
      }
    }
    if (whole.empty()) return whole;
    if (!other.empty()) throw error(other, path, "alongside " + std::string(whole) + " is not supported");
    if (typed && whole != "enum" && whole != "const") {
      throw error("type", path, "alongside " + std::string(whole) + " is not supported");
    }
    return whole;
  }

  // `type`'s list, or the types whose keywords the schema uses (none: any value).
  std::vector<JsonType> instance_types(dom::object keywords, const std::string& path) const {
    std::vector<JsonType> types = declared_types(keywords, path);
    if (!types.empty()) return types;
    for (const auto& [keyword, value] : keywords) {
      const std::optional<JsonType> type = implied_type(*applies_of(keyword));
      if (type && std::find(types.begin(), types.end(), *type) == types.end()) types.push_back(*type);
    }
    return types;
  }

  std::vector<JsonType> declared_types(dom::object keywords, const std::string& path) const {
    dom::element type;
    if (keywords["type"].get(type) != simdjson::SUCCESS) return {};
    std::vector<std::string_view> names;
    if (std::string_view name; type.get(name) == simdjson::SUCCESS) {
      names.push_back(name);
    } else {
      for (const dom::element item : array_of(type, "type", path)) names.push_back(string_of(item, "type", path));
    }
    std::vector<JsonType> types;
    for (const std::string_view name : names) {
      const auto known =
          std::find_if(std::begin(kTypeNames), std::end(kTypeNames), [&](auto& t) { return t.first == name; });
      if (known == std::end(kTypeNames)) throw error("type", path, "'" + std::string(name) + "' is not a JSON type");
      types.push_back(known->second);
    }
    if (types.empty()) throw error("type", path, "lists no type");
    return types;
  }

  ExprId instance(JsonType type, dom::object keywords, const std::string& path, int depth) {
    switch (type) {
      case JsonType::string: return string_instance(keywords, path);
      case JsonType::number: return number_instance(keywords, path);
      case JsonType::integer: return integer_instance(keywords, path);
      case JsonType::boolean: return grammar_.choice({grammar_.literal("true"), grammar_.literal("false")});
      case JsonType::null: return grammar_.literal("null");
      case JsonType::object: return object_instance(keywords, path, depth);
      case JsonType::array: return array_instance(keywords, path, depth);
    }
    return grammar_.nothing();
  }

  // ---- $ref, anyOf, enum

  ExprId reference_to(std::string_view ref, const std::string& path) {
    if (ref != "#" && !ref.starts_with("#/")) {
      throw error("$ref", path,
                  "'" + std::string(ref) + "' is not supported: only '#' and '#/…' within the schema are");
    }
    const std::string pointer(ref.substr(1));
    if (pointer.empty()) return grammar_.reference(root_);
    auto known = ref_rules_.find(pointer);
    if (known == ref_rules_.end()) {
      dom::element target;
      if (document_.at_pointer(pointer).get(target) != simdjson::SUCCESS) {
        throw error("$ref", path, "'" + std::string(ref) + "' points to nothing in the schema");
      }
      const RuleId rule = grammar_.declare(grammar_.fresh_name(name_ + "-" + name_from(pointer)));
      pending_.push_back({target, pointer, rule});
      known = ref_rules_.emplace(pointer, rule).first;
    }
    return grammar_.reference(known->second);
  }

  ExprId alternatives(dom::object keywords, std::string_view keyword, const std::string& path, int depth) {
    const dom::array schemas = array_of(keywords[keyword].value_unsafe(), keyword, path);
    if (schemas.size() == 0) throw error(keyword, path, "lists no schema");
    std::vector<ExprId> choices;
    for (const dom::element item : schemas) {
      choices.push_back(schema(item, child(child(path, keyword), choices.size()), depth + 1));
    }
    return grammar_.choice(std::move(choices));
  }

  // Each value as the literal of its compact serialization (strings JSON-escaped), those of the wrong `type` left out.
  ExprId literals(dom::object keywords, std::string_view keyword, const std::string& path) {
    const dom::element value = keywords[keyword].value_unsafe();
    std::vector<dom::element> values;
    if (keyword == "const") {
      values.push_back(value);
    } else {
      for (const dom::element item : array_of(value, keyword, path)) values.push_back(item);
    }
    const std::vector<JsonType> types = declared_types(keywords, path);
    std::vector<ExprId> choices;
    for (const dom::element v : values) {
      const bool typed =
          types.empty() || std::any_of(types.begin(), types.end(), [&](JsonType t) { return has_type(v, t); });
      if (!typed) continue;
      const std::string serialized = simdjson::minify(v);
      check_size(path, serialized.size());
      choices.push_back(grammar_.literal(serialized));
    }
    if (choices.empty()) throw error(keyword, path, "allows no value of the schema's type");
    return grammar_.choice(std::move(choices));
  }

  // ---- strings

  ExprId string_instance(dom::object keywords, const std::string& path) {
    const std::optional<uint32_t> min = count(keywords, "minLength", path), max = count(keywords, "maxLength", path);
    const std::optional<std::string_view> pattern = optional_string(keywords, "pattern", path);
    const std::optional<std::string_view> format = optional_string(keywords, "format", path);
    if (pattern && format) throw error("format", path, "alongside pattern is not supported");
    if ((pattern || format) && (min || max)) {
      throw error(min ? "minLength" : "maxLength", path,
                  std::string("alongside ") + (pattern ? "pattern" : "format") + " is not supported");
    }
    if (pattern) return quoted(content_matching(*pattern, "pattern", path));
    if (format) {
      const std::optional<std::string> regex = format_regex(*format);
      if (!regex) throw error("format", path, "'" + std::string(*format) + "' is not supported");
      return quoted(content_matching(*regex, "format", path));
    }
    if (!min && !max) return json_string();
    if (min && max && *min > *max) throw error("minLength", path, "is above maxLength");
    return quoted(grammar_.repeat(json_char(), min.value_or(0), max.value_or(kUnbounded)));
  }

  // The regex on a string's raw content, with no escapes allowed: the raw bytes
  // are then the decoded string, so the pattern holds of it exactly; characters
  // JSON must escape (quote, backslash, controls) cannot appear. The regex must
  // match the whole content (JSON Schema would search): an unanchored pattern
  // allows a subset of what the schema does, as in llama.cpp.
  ExprId content_matching(std::string_view regex, std::string_view keyword, const std::string& path) {
    Grammar compiled;
    try {
      compiled = regex_grammar(regex);
    } catch (const GrammarError& e) {
      throw error(keyword, path, std::string("is not usable: ") + e.what());
    }
    check_size(path, compiled.expr_count());
    std::map<ExprId, ExprId> copies;
    return copy_without(compiled, compiled.rule(compiled.root()).body, escaped_bytes(), grammar_, copies);
  }

  ExprId quoted(ExprId content) { return grammar_.sequence({grammar_.byte('"'), content, grammar_.byte('"')}); }

  // ---- numbers

  ExprId number_instance(dom::object keywords, const std::string& path) {
    for (const std::string_view bound : {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"}) {
      if (keywords[bound].error() == simdjson::SUCCESS) throw error(bound, path, "is only supported on integers");
    }
    return json_number();
  }

  ExprId integer_instance(dom::object keywords, const std::string& path) {
    const std::optional<int64_t> low =
        tighter(integer_bound(keywords, "minimum", path), integer_bound(keywords, "exclusiveMinimum", path), true);
    const std::optional<int64_t> high =
        tighter(integer_bound(keywords, "maximum", path), integer_bound(keywords, "exclusiveMaximum", path), false);
    if (!low && !high) return json_integer();
    if (low && high && *low > *high) throw error("minimum", path, "is above maximum: no integer is allowed");
    return integers_between(low, high);
  }

  // The integer a bound keyword allows at the edge: minimum rounds up,
  // maximum down, and an exclusive bound steps past itself.
  std::optional<int64_t> integer_bound(dom::object keywords, std::string_view keyword, const std::string& path) const {
    dom::element value;
    if (keywords[keyword].get(value) != simdjson::SUCCESS) return std::nullopt;
    double bound;
    if (value.get(bound) != simdjson::SUCCESS) throw error(keyword, path, "must be a number");
    if (!(std::fabs(bound) < kMaxIntegerBound)) throw error(keyword, path, "is beyond the supported range (±2^53)");
    if (keyword == "minimum") return int64_t(std::ceil(bound));
    if (keyword == "maximum") return int64_t(std::floor(bound));
    if (keyword == "exclusiveMinimum") return int64_t(std::floor(bound)) + 1;
    return int64_t(std::ceil(bound)) - 1;
  }

  // The integers in [low, high] (nullopt: no bound that side), written without leading zeros; never "-0".
  ExprId integers_between(std::optional<int64_t> low, std::optional<int64_t> high) {
    std::vector<ExprId> parts;
    if (!low || *low < 0) {  // negatives: "-" and a magnitude in [max(1, -high), -low]
      const uint64_t least = high && *high < 0 ? uint64_t(-*high) : 1;
      parts.push_back(grammar_.sequence(
          {grammar_.byte('-'), low ? numerals_between(least, uint64_t(-*low)) : numerals_from(least)}));
    }
    if (!high || *high >= 0) {
      const uint64_t least = low && *low > 0 ? uint64_t(*low) : 0;
      parts.push_back(high ? numerals_between(least, uint64_t(*high)) : numerals_from(least));
    }
    return grammar_.choice(std::move(parts));
  }

  // Decimal numerals of [low, high], one same-length range per digit count.
  ExprId numerals_between(uint64_t low, uint64_t high) {
    const std::string first = std::to_string(low), last = std::to_string(high);
    std::vector<ExprId> parts;
    for (size_t length = first.size(); length <= last.size(); ++length) {
      std::string from = first;
      if (length > first.size()) {  // 10…0
        from.assign(length, '0');
        from[0] = '1';
      }
      parts.push_back(digits_between(from, length == last.size() ? last : std::string(length, '9')));
    }
    return grammar_.choice(std::move(parts));
  }

  // Decimal numerals of [low, ∞): those as long as low's, then every longer one.
  ExprId numerals_from(uint64_t low) {
    const std::string first = std::to_string(low);
    const ExprId longer =
        grammar_.sequence({grammar_.byte_range('1', '9'), digits(uint32_t(first.size()), kUnbounded)});
    return grammar_.choice({digits_between(first, std::string(first.size(), '9')), longer});
  }

  // The digit strings of one length from `from` through `to`: a shared first
  // digit, or the first digit's edges (which recurse on the rest) and the free
  // middle.
  ExprId digits_between(std::string_view from, std::string_view to) {
    if (from.size() == 1) return grammar_.byte_range(uint8_t(from[0]), uint8_t(to[0]));
    if (from[0] == to[0]) {
      return grammar_.sequence({grammar_.byte(uint8_t(from[0])), digits_between(from.substr(1), to.substr(1))});
    }
    const size_t rest = from.size() - 1;
    const bool from_whole = from.find_first_not_of('0', 1) == std::string_view::npos;  // from[0] then anything
    const bool to_whole = to.find_first_not_of('9', 1) == std::string_view::npos;      // to[0] then anything
    std::vector<ExprId> parts;
    if (!from_whole) {
      parts.push_back(
          grammar_.sequence({grammar_.byte(uint8_t(from[0])), digits_between(from.substr(1), std::string(rest, '9'))}));
    }
    const char middle_first = from_whole ? from[0] : char(from[0] + 1),
               middle_last = to_whole ? to[0] : char(to[0] - 1);
    if (middle_first <= middle_last) {
      const ExprId lead = grammar_.byte_range(uint8_t(middle_first), uint8_t(middle_last));
      parts.push_back(grammar_.sequence({lead, digits(uint32_t(rest), uint32_t(rest))}));
    }
    if (!to_whole) {
      parts.push_back(
          grammar_.sequence({grammar_.byte(uint8_t(to[0])), digits_between(std::string(rest, '0'), to.substr(1))}));
    }
    return grammar_.choice(std::move(parts));
  }

  // ---- objects

  // Properties in schema order, then any additional ones. `written` matches
  // the members so far once there is one (each after the first behind a
  // comma): the next property extends it, or starts it while every property
  // before is optional. Each member appears at most twice, so the automaton,
  // which expands every use, grows linearly with the properties.
  ExprId object_instance(dom::object keywords, const std::string& path, int depth) {
    struct Property {
      std::string_view key;
      ExprId member;
      bool required = false;
    };
    std::vector<Property> properties;
    dom::element listed;
    const bool has_properties = keywords["properties"].get(listed) == simdjson::SUCCESS;
    if (has_properties) {
      dom::object schemas;
      if (listed.get(schemas) != simdjson::SUCCESS) throw error("properties", path, "must be an object");
      for (const auto& [key, value] : schemas) {
        const ExprId member_value = schema(value, child(child(path, "properties"), key), depth + 1);
        properties.push_back({key, member(grammar_.literal(json::quote(key)), member_value)});
      }
    }
    if (dom::element required; keywords["required"].get(required) == simdjson::SUCCESS) {
      for (const dom::element name : array_of(required, "required", path)) {
        const std::string_view key = string_of(name, "required", path);
        const auto property =
            std::find_if(properties.begin(), properties.end(), [&](const Property& p) { return p.key == key; });
        if (property == properties.end()) {
          throw error("required", path, "names '" + std::string(key) + "', which properties does not list");
        }
        property->required = true;
      }
    }

    std::optional<ExprId> written;
    bool all_optional = true;
    for (const Property& p : properties) {
      const ExprId following = grammar_.sequence({separator(), p.member});
      const std::optional<ExprId> start = all_optional ? std::optional(p.member) : std::nullopt;
      written = extended(written, p.required ? following : grammar_.optional(following), start);
      all_optional = all_optional && !p.required;
    }
    if (const std::optional<ExprId> extra_value = additional_value(keywords, has_properties, path, depth)) {
      const ExprId extra = member(json_string(), *extra_value);
      const ExprId more = grammar_.repeat(grammar_.sequence({separator(), extra}), 0, kUnbounded);
      const std::optional<ExprId> start = all_optional ? std::optional(grammar_.sequence({extra, more})) : std::nullopt;
      written = extended(written, more, start);
    }
    return enclosed('{', written, all_optional, '}');
  }

  // `written` then `next`, or else `start` (where members may start).
  ExprId extended(std::optional<ExprId> written, ExprId next, std::optional<ExprId> start) {
    std::vector<ExprId> ways;
    if (written) ways.push_back(grammar_.sequence({*written, next}));
    if (start) ways.push_back(*start);
    return grammar_.choice(std::move(ways));
  }

  // The schema of properties beyond the listed ones, nullopt when none may
  // appear: when additionalProperties is absent, none beside listed properties
  // (XGrammar's strict mode: a model should not invent keys) and any without.
  // Extra keys are any JSON string, a listed key's name included.
  std::optional<ExprId> additional_value(dom::object keywords, bool has_properties, const std::string& path,
                                         int depth) {
    dom::element additional;
    if (keywords["additionalProperties"].get(additional) != simdjson::SUCCESS) {
      return has_properties ? std::nullopt : std::optional(any_value());
    }
    if (bool allowed; additional.get(allowed) == simdjson::SUCCESS && !allowed) return std::nullopt;
    return schema(additional, child(path, "additionalProperties"), depth + 1);
  }

  ExprId member(ExprId key, ExprId value) { return grammar_.sequence({key, ws(), grammar_.byte(':'), ws(), value}); }

  // ---- arrays

  // prefixItems (or draft 4–2019's array of items) first, then `items` (or
  // additionalItems) up to the counts. A tuple with no schema for further
  // items has none, as additionalProperties' absence allows no extra key.
  ExprId array_instance(dom::object keywords, const std::string& path, int depth) {
    if (bool unique; keywords["uniqueItems"].get(unique) == simdjson::SUCCESS && unique) {
      throw error("uniqueItems", path, "is not supported");
    }
    dom::element items, prefix_items, additional_items;
    const bool has_items = keywords["items"].get(items) == simdjson::SUCCESS;
    const bool has_prefix = keywords["prefixItems"].get(prefix_items) == simdjson::SUCCESS;
    const bool has_additional = keywords["additionalItems"].get(additional_items) == simdjson::SUCCESS;
    const bool tuple_items = has_items && items.is_array();
    if (has_prefix && tuple_items) throw error("items", path, "as an array alongside prefixItems is not supported");
    if (has_additional && !tuple_items) {
      throw error("additionalItems", path, "is only supported with an array of items");
    }

    std::vector<ExprId> prefix;
    std::optional<ExprId> rest;
    if (has_prefix || tuple_items) {
      const std::string_view keyword = has_prefix ? "prefixItems" : "items";
      for (const dom::element item : array_of(has_prefix ? prefix_items : items, keyword, path)) {
        prefix.push_back(schema(item, child(child(path, keyword), prefix.size()), depth + 1));
      }
      if (has_prefix && has_items) rest = further_items(items, child(path, "items"), depth);
      if (has_additional) rest = further_items(additional_items, child(path, "additionalItems"), depth);
    } else {
      rest = has_items ? further_items(items, child(path, "items"), depth) : any_value();
    }

    const uint32_t min = count(keywords, "minItems", path).value_or(0);
    const uint32_t max = count(keywords, "maxItems", path).value_or(kUnbounded);
    const uint32_t fixed = uint32_t(prefix.size());
    if (min > max) throw error("minItems", path, "is above maxItems");
    if (max < fixed) throw error("maxItems", path, "is below the number of prefixItems");
    if (!rest && min > fixed) throw error("minItems", path, "is above the number of items the schema allows");
    const uint32_t rest_min = min > fixed ? min - fixed : 0, rest_max = max == kUnbounded ? kUnbounded : max - fixed;

    if (fixed == 0) {
      if (!rest || rest_max == 0) return enclosed('[', std::nullopt, true, ']');
      const ExprId more = grammar_.repeat(grammar_.sequence({separator(), *rest}), rest_min == 0 ? 0 : rest_min - 1,
                                          rest_max == kUnbounded ? kUnbounded : rest_max - 1);
      return enclosed('[', grammar_.sequence({*rest, more}), rest_min == 0, ']');
    }
    std::vector<ExprId> elements;
    for (const ExprId item : prefix) {
      if (!elements.empty()) elements.push_back(separator());
      elements.push_back(item);
    }
    if (rest && rest_max > 0) {
      elements.push_back(grammar_.repeat(grammar_.sequence({separator(), *rest}), rest_min, rest_max));
    }
    return enclosed('[', grammar_.sequence(std::move(elements)), false, ']');
  }

  // The schema of further items, nullopt for `false` (none).
  std::optional<ExprId> further_items(dom::element node, const std::string& path, int depth) {
    if (bool allowed; node.get(allowed) == simdjson::SUCCESS && !allowed) return std::nullopt;
    return schema(node, path, depth + 1);
  }

  // open ws [content ws] close: exactly one ws between neighbouring tokens.
  ExprId enclosed(char open, std::optional<ExprId> content, bool may_be_empty, char close) {
    std::vector<ExprId> items{grammar_.byte(uint8_t(open)), ws()};
    if (content) {
      const ExprId filled = grammar_.sequence({*content, ws()});
      items.push_back(may_be_empty ? grammar_.optional(filled) : filled);
    }
    items.push_back(grammar_.byte(uint8_t(close)));
    return grammar_.sequence(std::move(items));
  }

  // ---- helper rules, shared by name with every schema in the grammar

  template <typename Body>
  ExprId shared(std::string_view name, Body body) {
    const RuleId rule = grammar_.declare(name);
    if (!grammar_.rule(rule).defined) grammar_.define(rule, body());
    return grammar_.reference(rule);
  }

  // llama.cpp's `space`: nothing, a space, or a newline and an indent.
  ExprId ws() {
    return shared("ws", [&] {
      const ExprId indent = grammar_.repeat(grammar_.bytes(ByteSet().set(' ').set('\t')), 0, 20);
      return grammar_.optional(grammar_.choice({grammar_.byte(' '), grammar_.sequence({grammar_.byte('\n'), indent})}));
    });
  }

  ExprId separator() { return grammar_.sequence({ws(), grammar_.byte(','), ws()}); }

  ExprId json_string() {
    return shared("json-string", [&] { return quoted(grammar_.repeat(json_char(), 0, kUnbounded)); });
  }

  // One code point of a string's content: raw valid UTF-8 but the bytes that
  // need escaping, or an escape. A \u escape of a surrogate must be a pair,
  // so every character is one code point and minLength/maxLength count
  // exactly (and no lone surrogate, which many parsers refuse, can appear).
  ExprId json_char() {
    return shared("json-char", [&] {
      constexpr CodePointRange kMustEscape[] = {{0, 0x1F}, {'"', '"'}, {'\\', '\\'}};
      const ExprId hex = one_of("0123456789abcdefABCDEF");
      const auto hex_digits = [&](uint32_t n) { return grammar_.repeat(hex, n, n); };
      const ExprId d = one_of("dD");
      const ExprId not_surrogate =
          grammar_.choice({grammar_.sequence({one_of("0123456789abcefABCEF"), hex_digits(3)}),
                           grammar_.sequence({d, grammar_.byte_range('0', '7'), hex_digits(2)})});
      const ExprId high = grammar_.sequence({d, one_of("89abAB"), hex_digits(2)});
      const ExprId low = grammar_.sequence({d, one_of("cdefCDEF"), hex_digits(2)});
      const ExprId unicode = grammar_.sequence(
          {grammar_.byte('u'),
           grammar_.choice({not_surrogate, grammar_.sequence({high, grammar_.literal("\\u"), low})})});
      const ExprId escape = grammar_.sequence({grammar_.byte('\\'), grammar_.choice({one_of("\"\\/bfnrt"), unicode})});
      return grammar_.choice({grammar_.code_points_except(kMustEscape), escape});
    });
  }

  ExprId json_number() {
    return shared("json-number", [&] {
      const ExprId fraction = grammar_.optional(grammar_.sequence({grammar_.byte('.'), digits(1, kUnbounded)}));
      const ExprId exponent =
          grammar_.optional(grammar_.sequence({one_of("eE"), grammar_.optional(one_of("+-")), digits(1, kUnbounded)}));
      return grammar_.sequence({json_integer(), fraction, exponent});
    });
  }

  ExprId json_integer() {
    return shared("json-integer", [&] {
      const ExprId natural = grammar_.sequence({grammar_.byte_range('1', '9'), digits(0, kUnbounded)});
      return grammar_.sequence({grammar_.optional(grammar_.byte('-')), grammar_.choice({grammar_.byte('0'), natural})});
    });
  }

  // Any JSON value. Value, object and array refer to each other, so all three
  // are declared before any is defined.
  ExprId any_value() {
    const RuleId value = grammar_.declare("json-value");
    if (!grammar_.rule(value).defined) {
      const RuleId object_rule = grammar_.declare("json-object"), array_rule = grammar_.declare("json-array");
      const ExprId list = grammar_.sequence(
          {grammar_.reference(value),
           grammar_.repeat(grammar_.sequence({separator(), grammar_.reference(value)}), 0, kUnbounded)});
      const ExprId pair = member(json_string(), grammar_.reference(value));
      const ExprId pairs =
          grammar_.sequence({pair, grammar_.repeat(grammar_.sequence({separator(), pair}), 0, kUnbounded)});
      grammar_.define(object_rule, enclosed('{', pairs, true, '}'));
      grammar_.define(array_rule, enclosed('[', list, true, ']'));
      grammar_.define(value, grammar_.choice({grammar_.reference(object_rule), grammar_.reference(array_rule),
                                              json_string(), json_number(), grammar_.literal("true"),
                                              grammar_.literal("false"), grammar_.literal("null")}));
    }
    return grammar_.reference(value);
  }

  ExprId digits(uint32_t min, uint32_t max) { return grammar_.repeat(grammar_.byte_range('0', '9'), min, max); }

  ExprId one_of(std::string_view chars) {
    ByteSet set;
    for (const char c : chars) set.set(uint8_t(c));
    return grammar_.bytes(set);
  }

  // Refuses a schema whose grammar would pass kMaxExpressions once `more` are added.
  void check_size(const std::string& path, size_t more) const {
    if (grammar_.expr_count() - first_expr_ + more > kMaxExpressions) {
      throw GrammarError("the schema is too large for a grammar (at " + where(path) + ")");
    }
  }

  Grammar& grammar_;
  const dom::element document_;
  const std::string name_;
  const RuleId root_;
  const size_t first_expr_;
  std::map<std::string, RuleId> ref_rules_;  // by JSON Pointer
  std::vector<PendingRef> pending_;
};

}  // namespace

RuleId add_json_schema(Grammar& grammar, std::string_view schema_json, std::string_view name) {
  dom::parser parser;
  dom::element document;
  if (const auto failure = parser.parse(schema_json.data(), schema_json.size()).get(document);
      failure != simdjson::SUCCESS) {
    throw GrammarError(std::string("the schema is not valid JSON: ") + simdjson::error_message(failure));
  }
  return SchemaCompiler(grammar, document, name).compile();
}

Grammar json_schema_grammar(std::string_view schema_json) {
  Grammar grammar;
  grammar.set_root(add_json_schema(grammar, schema_json, "root"));
  return grammar;
}

Grammar json_object_grammar() { return json_schema_grammar(R"({"type":"object"})"); }

}  // namespace rs::grammar
