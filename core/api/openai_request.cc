#include "core/api/openai_request.h"

#include <fmt/format.h>
#include <simdjson.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

#include "core/api/forced_tool_calls.h"
#include "core/base/json_write.h"

namespace rs::api {
namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;

// Bounds on client-given counts that the header does not name (OpenAI allows 300 logit_bias entries, 128 tools).
constexpr size_t kMaxLogitBias = 1024;
constexpr size_t kMaxTools = 128;
constexpr size_t kMaxStopTokenIds = 1024;
// Bytes of one stop string: every choice holds its own copies, so 16 strings of a megabyte at n = 16 held 500 MB.
constexpr size_t kMaxStopBytes = 4096;
constexpr int64_t kMaxTokenId = std::numeric_limits<int32_t>::max();
constexpr int64_t kMaxInt32 = std::numeric_limits<int32_t>::max();
// OpenAI's and vLLM's default for /v1/completions (chat has none: until the context is full).
constexpr int32_t kDefaultCompletionMaxTokens = 16;
// How much of a bad string value an error message quotes.
constexpr size_t kMaxQuotedBytes = 40;

// The fields we read, and those we refuse until they are implemented; a body's other fields are ignored.
enum Field : size_t {
  kModel, kMessages, kTools, kParallelToolCalls, kAddGenerationPrompt, kPrompt, kEcho, kN, kStream, kStreamOptions,
  kMaxTokens, kMaxCompletionTokens, kTemperature, kTopP, kTopK, kMinP, kPresencePenalty,
  kFrequencyPenalty, kRepetitionPenalty, kSeed, kLogitBias, kStop, kStopTokenIds, kIgnoreEos,
  kSkipSpecialTokens, kLogprobs, kTopLogprobs, kUser, kCacheSalt, kCache,
  kResponseFormat, kToolChoice, kFunctions, kFunctionCall, kSuffix, kBestOf, kModalities, kAudio,
  kGuidedJson, kGuidedRegex, kGuidedChoice, kGuidedGrammar, kStructuredOutputs, kGrammar, kJsonSchema,
  kFieldCount
};
constexpr std::array<std::string_view, kFieldCount> kFieldNames = {
    "model", "messages", "tools", "parallel_tool_calls", "add_generation_prompt", "prompt", "echo", "n", "stream", "stream_options",
    "max_tokens", "max_completion_tokens", "temperature", "top_p", "top_k", "min_p", "presence_penalty",
    "frequency_penalty", "repetition_penalty", "seed", "logit_bias", "stop", "stop_token_ids", "ignore_eos",
    "skip_special_tokens", "logprobs", "top_logprobs", "user", "cache_salt", "cache",
    "response_format", "tool_choice", "functions", "function_call", "suffix", "best_of", "modalities", "audio",
    "guided_json", "guided_regex", "guided_choice", "guided_grammar", "structured_outputs", "grammar", "json_schema"};
// The body's fields by Field; null is the same as absent.
using Fields = std::array<std::optional<element>, kFieldCount>;

// A value as an error message shows it: scalars as JSON, strings quoted (cut short), containers by kind.
std::string describe(element value) {
  switch (value.type()) {
    case element_type::ARRAY: return "an array";
    case element_type::OBJECT: return "an object";
    case element_type::STRING: {
      std::string_view text = value.get_string().value_unsafe();
      if (text.size() <= kMaxQuotedBytes) return json::quote(text);
      size_t cut = kMaxQuotedBytes;
      while (cut > 0 && (static_cast<uint8_t>(text[cut]) & 0xC0) == 0x80) --cut;  // whole characters only
      std::string shortened(text.substr(0, cut));
      shortened += "\xE2\x80\xA6";  // …
      return json::quote(shortened);
    }
    default: return simdjson::minify(value);
  }
}

[[noreturn]] void fail(std::string_view path, std::string_view expected, element value) {
  throw ApiError(400, fmt::format("\"{}\" must be {}, got {}", path, expected, describe(value)), std::string(path));
}

[[noreturn]] void fail(std::string_view path, std::string message) {
  throw ApiError(400, std::move(message), std::string(path));
}

// The value of an integer-valued number (5 or 5.0); none for anything else or outside int64.
std::optional<int64_t> integer_value(element value) {
  switch (value.type()) {
    case element_type::INT64: return value.get_int64().value_unsafe();
    case element_type::DOUBLE: {
      const double number = value.get_double().value_unsafe();
      // 2^63 is exactly representable; every integral double below it fits.
      if (number != std::trunc(number) || number < -0x1p63 || number >= 0x1p63) return std::nullopt;
      return static_cast<int64_t>(number);
    }
    default: return std::nullopt;  // UINT64 is above INT64_MAX: outside every range we accept
  }
}

int64_t integer_in(element value, std::string_view path, int64_t low, int64_t high, std::string_view expected) {
  const std::optional<int64_t> number = integer_value(value);
  if (!number || *number < low || *number > high) fail(path, expected, value);
  return *number;
}

std::optional<double> number_value(element value) {
  switch (value.type()) {
    case element_type::INT64: return static_cast<double>(value.get_int64().value_unsafe());
    case element_type::UINT64: return static_cast<double>(value.get_uint64().value_unsafe());
    case element_type::DOUBLE: return value.get_double().value_unsafe();
    default: return std::nullopt;
  }
}

// A number in [low, high], or in (low, high] when `open_low`.
float number_in(element value, std::string_view path, double low, double high, bool open_low,
                std::string_view expected) {
  const std::optional<double> number = number_value(value);
  if (!number || *number > high || (open_low ? *number <= low : *number < low)) fail(path, expected, value);
  return static_cast<float>(*number);
}

bool boolean(element value, std::string_view path) {
  if (value.type() != element_type::BOOL) fail(path, "a boolean", value);
  return value.get_bool().value_unsafe();
}

std::string_view string(element value, std::string_view path) {
  if (value.type() != element_type::STRING) fail(path, "a string", value);
  return value.get_string().value_unsafe();
}

std::string indexed(std::string_view path, size_t index) { return fmt::format("{}[{}]", path, index); }

// `path`[index] as a token id; the element's path is spelled out only for an error (a prompt of a million ids).
int32_t token_id_at(element value, std::string_view path, size_t index) {
  if (value.type() == element_type::INT64) {
    const int64_t id = value.get_int64().value_unsafe();
    if (id >= 0 && id <= kMaxTokenId) return static_cast<int32_t>(id);
  }
  return static_cast<int32_t>(
      integer_in(value, indexed(path, index), 0, kMaxTokenId, "a token id (an integer from 0 to 2147483647)"));
}

Prompt text_prompt(std::string_view text) {
  Prompt prompt;
  prompt.text = text;
  return prompt;
}

// A stop string of 1 to kMaxStopBytes bytes at `path`.
std::string_view stop_string(element value, std::string_view path, std::string_view expected) {
  if (value.type() != element_type::STRING || value.get_string().value_unsafe().empty()) fail(path, expected, value);
  const std::string_view text = value.get_string().value_unsafe();
  if (text.size() > kMaxStopBytes) {
    fail(path, fmt::format("\"{}\" is {} bytes long; a stop string may have at most {}", path, text.size(),
                           kMaxStopBytes));
  }
  return text;
}

void parse_stop(element value, std::vector<std::string>& stop) {
  if (value.type() == element_type::STRING) {
    stop.emplace_back(stop_string(value, "stop", "a non-empty string or an array of non-empty strings"));
    return;
  }
  if (value.type() != element_type::ARRAY) fail("stop", "a string or an array of strings", value);
  size_t index = 0;
  const simdjson::dom::array items = value.get_array().value_unsafe();
  for (const element item : items) {
    if (stop.size() == sampler::kMaxStopStrings) {
      fail("stop", fmt::format("\"stop\" holds more than {} stop strings", sampler::kMaxStopStrings));
    }
    stop.emplace_back(stop_string(item, indexed("stop", index++), "a non-empty string"));
  }
}

void parse_logit_bias(element value, std::map<sampler::TokenId, float>& logit_bias) {
  if (value.type() != element_type::OBJECT) fail("logit_bias", "an object mapping token ids to numbers", value);
  size_t count = 0;
  const simdjson::dom::object entries = value.get_object().value_unsafe();
  for (const auto& [key, bias] : entries) {
    if (++count > kMaxLogitBias) {
      fail("logit_bias", fmt::format("\"logit_bias\" holds more than {} entries", kMaxLogitBias));
    }
    int64_t token = 0;
    bool valid = !key.empty() && key.size() <= 10;
    for (const char c : key) {
      valid = valid && c >= '0' && c <= '9';
      if (valid) token = token * 10 + (c - '0');
    }
    if (!valid || token > kMaxTokenId) {
      fail("logit_bias", fmt::format("\"logit_bias\" keys must be token ids (integers from 0 to 2147483647), got {}",
                                     json::quote(key.substr(0, kMaxQuotedBytes))));
    }
    const std::optional<double> number = number_value(bias);
    if (!number || *number < -100 || *number > 100) {
      fail("logit_bias", fmt::format("\"logit_bias\" values must be numbers between -100 and 100, got {} for token {}",
                                     describe(bias), token));
    }
    logit_bias[static_cast<sampler::TokenId>(token)] = static_cast<float>(*number);
  }
}

std::string array_of_objects(element value, std::string_view path, bool allow_empty, size_t max_items) {
  const std::string_view expected = allow_empty ? "an array of objects" : "a non-empty array of objects";
  if (value.type() != element_type::ARRAY) fail(path, expected, value);
  const simdjson::dom::array items = value.get_array().value_unsafe();
  if (!allow_empty && items.begin() == items.end()) fail(path, expected, value);
  if (const size_t size = items.size(); size > max_items) {  // OpenAI's words
    fail(path, fmt::format("Invalid '{}': array too long. Expected an array with maximum length {}, but got an array "
                           "with length {} instead.",
                           path, max_items, size));
  }
  size_t index = 0;
  for (const element item : items) {
    if (item.type() != element_type::OBJECT) fail(indexed(path, index), "an object", item);
    ++index;
  }
  return simdjson::minify(value);
}

// The text of a schema given as an object (or, as vLLM also takes it, as a string holding one).
std::string schema_text(element value, std::string_view path) {
  if (value.type() == element_type::OBJECT || value.type() == element_type::BOOL) return simdjson::minify(value);
  if (value.type() == element_type::STRING) return std::string(value.get_string().value_unsafe());
  fail(path, "a JSON Schema (an object)", value);
}

std::string choices_text(element value, std::string_view path) {
  if (value.type() != element_type::ARRAY) fail(path, "an array of strings", value);
  size_t index = 0;
  const simdjson::dom::array items = value.get_array().value_unsafe();  // a local: the loop outlives a temporary
  for (const element item : items) string(item, indexed(path, index++));
  return simdjson::minify(value);
}

OutputConstraint constraint(grammar::SourceKind kind, std::string text, std::string_view param) {
  return {kind, std::move(text), std::string(param)};
}

// A constraint given as one value: a schema, a regex, choices or a GBNF grammar.
OutputConstraint constraint_of(grammar::SourceKind kind, element value, std::string_view path) {
  using grammar::SourceKind;
  switch (kind) {
    case SourceKind::json_schema: return constraint(kind, schema_text(value, path), path);
    case SourceKind::choice: return constraint(kind, choices_text(value, path), path);
    default: return constraint(kind, std::string(string(value, path)), path);
  }
}

// OpenAI's response_format; llama.cpp also takes {"type":"json_object","schema":{…}}.
OutputConstraint response_format(element value) {
  element type;
  if (value.type() != element_type::OBJECT || value.at_key("type").get(type) || type.type() != element_type::STRING) {
    fail("response_format", R"(an object such as {"type":"json_object"})", value);
  }
  const std::string_view kind = type.get_string().value_unsafe();
  if (kind == "text") return {};
  if (kind == "json_object") {
    element schema;
    if (!value.at_key("schema").get(schema) && !schema.is_null()) {
      return constraint(grammar::SourceKind::json_schema, schema_text(schema, "response_format.schema"),
                        "response_format.schema");
    }
    return constraint(grammar::SourceKind::json_object, "", "response_format");
  }
  if (kind != "json_schema") {
    fail("response_format.type", R"("text", "json_object" or "json_schema")", type);
  }
  element json_schema, schema;
  if (value.at_key("json_schema").get(json_schema) || json_schema.type() != element_type::OBJECT) {
    fail("response_format.json_schema",
         R"("response_format.json_schema" must be an object such as {"name":"answer","schema":{…}})");
  }
  if (json_schema.at_key("schema").get(schema) || schema.is_null()) {
    // OpenAI's schema is optional; without one any JSON object will do.
    return constraint(grammar::SourceKind::json_object, "", "response_format.json_schema");
  }
  return constraint(grammar::SourceKind::json_schema, schema_text(schema, "response_format.json_schema.schema"),
                    "response_format.json_schema.schema");
}

// vLLM's structured_outputs object: exactly one of json, regex, choice, grammar, json_object.
OutputConstraint structured_outputs(element value) {
  using grammar::SourceKind;
  static constexpr std::pair<std::string_view, SourceKind> kKeys[] = {
      {"json", SourceKind::json_schema}, {"regex", SourceKind::regex}, {"choice", SourceKind::choice},
      {"grammar", SourceKind::gbnf}};
  if (value.type() != element_type::OBJECT) fail("structured_outputs", "an object", value);
  OutputConstraint found;
  const simdjson::dom::object keys = value.get_object().value_unsafe();
  for (const auto& [key, item] : keys) {
    if (item.is_null()) continue;
    const std::string path = fmt::format("structured_outputs.{}", key);
    OutputConstraint next;
    if (key == "json_object") {
      if (!boolean(item, path)) continue;
      next = constraint(SourceKind::json_object, "", path);
    } else {
      const auto* known = std::ranges::find(kKeys, key, &std::pair<std::string_view, SourceKind>::first);
      if (known == std::end(kKeys)) {
        fail(path, fmt::format(R"("{}" is not supported: give json, regex, choice, grammar or json_object)", path));
      }
      next = constraint_of(known->second, item, path);
    }
    if (found.kind) fail(path, fmt::format(R"("{}" cannot be combined with "{}": give one)", path, found.param));
    found = std::move(next);
  }
  return found;
}

// The one output constraint a request gives, in whichever server's dialect; two are a 400.
OutputConstraint output_constraint(const Fields& fields) {
  using grammar::SourceKind;
  // vLLM's guided_* and llama.cpp's grammar and json_schema: one value each.
  static constexpr std::pair<Field, SourceKind> kSingleFields[] = {
      {kGuidedJson, SourceKind::json_schema}, {kGuidedRegex, SourceKind::regex},
      {kGuidedChoice, SourceKind::choice},    {kGuidedGrammar, SourceKind::gbnf},
      {kGrammar, SourceKind::gbnf},           {kJsonSchema, SourceKind::json_schema}};
  OutputConstraint found;
  const auto take = [&](OutputConstraint next, Field field) {
    if (!next.kind) return;
    if (found.kind) {
      fail(kFieldNames[field], fmt::format(R"("{}" cannot be combined with "{}": give one output constraint)",
                                           kFieldNames[field], found.param));
    }
    found = std::move(next);
  };
  if (const auto& v = fields[kResponseFormat]) take(response_format(*v), kResponseFormat);
  if (const auto& v = fields[kStructuredOutputs]) take(structured_outputs(*v), kStructuredOutputs);
  for (const auto& [field, kind] : kSingleFields) {
    if (const auto& v = fields[field]) take(constraint_of(kind, *v, kFieldNames[field]), field);
  }
  return found;
}

// OpenAI's rule for function names.
bool valid_function_name(std::string_view name) {
  return !name.empty() && name.size() <= 64 && std::ranges::all_of(name, [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

// `object`'s member `field`; none when absent or null.
std::optional<element> member(element object, std::string_view field) {
  element value;
  if (object.at_key(field).get(value) || value.is_null()) return std::nullopt;
  return value;
}

Tool parse_tool(element item, const std::string& path) {
  static constexpr std::string_view kExpected = R"(an object such as {"type":"function","function":{"name":"f"}})";
  if (item.type() != element_type::OBJECT) fail(path, kExpected, item);
  // vLLM takes a tool without "type" as a function, as it is the only kind.
  if (const auto type = member(item, "type"); type && (type->type() != element_type::STRING ||
                                                       type->get_string().value_unsafe() != "function")) {
    fail(path + ".type", R"("function")", *type);
  }
  const std::optional<element> function = member(item, "function");
  if (!function) fail(path + ".function", fmt::format(R"("{}.function" is required: {})", path, kExpected));
  if (function->type() != element_type::OBJECT) fail(path + ".function", "an object", *function);
  Tool tool;
  const std::string name_path = path + ".function.name";
  const std::optional<element> name = member(*function, "name");
  if (!name) fail(name_path, fmt::format(R"("{}" is required)", name_path));
  tool.name = string(*name, name_path);
  if (!valid_function_name(tool.name)) {
    fail(name_path, "a name of 1 to 64 letters, digits, underscores and dashes", *name);
  }
  if (const auto description = member(*function, "description")) {
    tool.description = string(*description, path + ".function.description");
  }
  tool.parameters_json = R"({"type":"object","properties":{}})";  // OpenAI's: a function that takes nothing
  if (const auto parameters = member(*function, "parameters")) {
    if (parameters->type() != element_type::OBJECT) {
      fail(path + ".function.parameters", "a JSON Schema object", *parameters);
    }
    tool.parameters_json = simdjson::minify(*parameters);
  }
  if (const auto strict = member(*function, "strict")) boolean(*strict, path + ".function.strict");
  return tool;
}

std::vector<Tool> parse_tools(element value) {
  if (value.type() != element_type::ARRAY) fail("tools", "an array of tools", value);
  std::vector<Tool> tools;
  const simdjson::dom::array items = value.get_array().value_unsafe();
  for (const element item : items) {
    if (tools.size() == kMaxTools) fail("tools", fmt::format("\"tools\" holds more than {} tools", kMaxTools));
    const std::string path = indexed("tools", tools.size());
    Tool tool = parse_tool(item, path);
    for (size_t i = 0; i < tools.size(); ++i) {
      if (tools[i].name == tool.name) {
        fail(path + ".function.name", fmt::format(R"("{}.function.name" is {}, as is tools[{}]'s: function names )"
                                                  R"(must be unique)",
                                                  path, json::quote(tool.name), i));
      }
    }
    tools.push_back(std::move(tool));
  }
  return tools;
}

// tool_choice: "none", "auto", "required" or {"type":"function","function":{"name":…}} naming one of `tools`.
ToolChoice parse_tool_choice(const std::optional<element>& value, const std::vector<Tool>& tools) {
  using Kind = ToolChoice::Kind;
  static constexpr std::string_view kExpected =
      R"("none", "auto", "required" or {"type":"function","function":{"name":…}})";
  // "auto" with nothing to call is "none": only a choice that cannot be met is refused.
  const Kind automatic = tools.empty() ? Kind::none : Kind::automatic;
  if (!value) return {automatic, ""};
  if (value->type() == element_type::STRING) {
    const std::string_view text = value->get_string().value_unsafe();
    if (text == "none") return {Kind::none, ""};
    if (text == "auto") return {automatic, ""};
    if (text != "required") fail("tool_choice", kExpected, *value);
    if (tools.empty()) fail("tool_choice", R"("tool_choice" "required" needs "tools": there is no function to call)");
    return {Kind::required, ""};
  }
  if (value->type() != element_type::OBJECT) fail("tool_choice", kExpected, *value);
  const std::optional<element> type = member(*value, "type");
  if (!type || type->type() != element_type::STRING || type->get_string().value_unsafe() != "function") {
    fail("tool_choice.type", R"("tool_choice.type" must be "function")");
  }
  const std::optional<element> function = member(*value, "function");
  const std::optional<element> name = function ? member(*function, "name") : std::nullopt;
  if (!name) fail("tool_choice.function.name", R"("tool_choice.function.name" is required: the function to call)");
  std::string named(string(*name, "tool_choice.function.name"));
  if (std::ranges::none_of(tools, [&](const Tool& tool) { return tool.name == named; })) {
    fail("tool_choice.function.name",
         fmt::format(R"("tool_choice.function.name" is {}, which is none of the functions in "tools")",
                     describe(*name)));
  }
  return {Kind::named, std::move(named)};
}

// Legacy `functions` are refused unless function_call is "none": then the model is not asked to call them.
void refuse_functions(const Fields& fields) {
  const std::optional<element>& chosen = fields[kFunctionCall];
  const bool none = chosen && chosen->type() == element_type::STRING && chosen->get_string().value_unsafe() == "none";
  if (chosen && !none) {
    fail("function_call", R"("none" or absent (legacy "functions" are not supported: use "tools" and )"
                          R"("tool_choice"))",
         *chosen);
  }
  const std::optional<element>& given = fields[kFunctions];
  if (!given) return;
  array_of_objects(*given, "functions", true, kMaxTools);
  if (none || given->get_array().value_unsafe().size() == 0) return;
  fail("functions", R"(legacy "functions" are not supported: send them as "tools" (or send "function_call": "none"))");
}

void refuse_best_of(element value) {
  if (integer_in(value, "best_of", 1, kMaxInt32, "an integer between 1 and 2147483647") == 1) return;
  fail("best_of", R"("best_of" greater than 1 is not supported yet; omit it or send 1 (for several choices, use "n"))");
}

void refuse_modalities(element value) {
  if (value.type() != element_type::ARRAY) fail("modalities", R"(an array such as ["text"])", value);
  size_t index = 0;
  const simdjson::dom::array items = value.get_array().value_unsafe();
  for (const element item : items) {
    if (item.type() != element_type::STRING || item.get_string().value_unsafe() != "text") {
      fail(indexed("modalities", index), R"("text" (this model writes text only))", item);
    }
    ++index;
  }
}

// Fields a client would depend on that we do not implement yet: a request that uses one is refused, never
// answered as if it had not asked.
void refuse_unimplemented(const Fields& fields, Endpoint endpoint) {
  if (const auto& v = fields[kBestOf]) refuse_best_of(*v);
  if (const auto& v = fields[kModalities]) refuse_modalities(*v);
  if (fields[kAudio]) fail("audio", R"("audio" output is not supported: this model writes text only; omit it)");
  if (endpoint == Endpoint::chat) {
    refuse_functions(fields);
  } else if (const auto& v = fields[kSuffix]) {
    if (!string(*v, "suffix").empty()) {
      fail("suffix", R"("suffix" is not supported yet (no insertion after the completion); omit it or send "")");
    }
  }
}

// The body as a JSON object; ApiError 400 when it is not JSON or not an object.
simdjson::dom::object body_object(simdjson::dom::parser& parser, std::string_view body) {
  element root;
  if (const simdjson::error_code error = parser.parse(body.data(), body.size()).get(root)) {
    throw ApiError(400, fmt::format("the body is not valid JSON: {}", simdjson::error_message(error)));
  }
  if (root.type() != element_type::OBJECT) {
    throw ApiError(400, fmt::format("the body is not a JSON object: got {}", describe(root)));
  }
  return root.get_object().value_unsafe();
}

}  // namespace

std::vector<Prompt> parse_prompts(const element& value, std::string_view field, size_t max) {
  static constexpr std::string_view kExpected =
      "a string, an array of strings, an array of token ids, or an array of arrays of token ids";
  std::vector<Prompt> prompts;
  if (value.type() == element_type::STRING) {
    prompts.push_back(text_prompt(value.get_string().value_unsafe()));
    return prompts;
  }
  if (value.type() != element_type::ARRAY) fail(field, kExpected, value);
  const simdjson::dom::array items = value.get_array().value_unsafe();
  if (items.begin() == items.end()) fail(field, fmt::format("\"{}\" must not be an empty array", field));
  const element_type kind = (*items.begin()).type();
  if (kind == element_type::INT64 || kind == element_type::UINT64 || kind == element_type::DOUBLE) {
    Prompt prompt;
    prompt.is_tokens = true;
    size_t index = 0;
    for (const element item : items) prompt.tokens.push_back(token_id_at(item, field, index++));
    prompts.push_back(std::move(prompt));
    return prompts;
  }
  if (kind != element_type::STRING && kind != element_type::ARRAY) fail(indexed(field, 0), kExpected, *items.begin());
  size_t index = 0;
  for (const element item : items) {
    const std::string path = indexed(field, index++);
    if (prompts.size() == max) fail(field, fmt::format("\"{}\" holds more than {} {}s", field, max, field));
    if (kind == element_type::STRING) {
      prompts.push_back(text_prompt(string(item, path)));
      continue;
    }
    if (item.type() != element_type::ARRAY) fail(path, "an array of token ids", item);
    Prompt prompt;
    prompt.is_tokens = true;
    size_t token_index = 0;
    const simdjson::dom::array tokens = item.get_array().value_unsafe();
    for (const element token : tokens) {
      prompt.tokens.push_back(token_id_at(token, path, token_index++));
    }
    if (prompt.tokens.empty()) fail(path, fmt::format("\"{}\" must not be an empty array", path));
    prompts.push_back(std::move(prompt));
  }
  return prompts;
}

CompletionRequest parse_completion_request(std::string_view body, Endpoint endpoint) {
  // One parser per thread keeps its buffers between requests; every value is copied out before returning.
  thread_local simdjson::dom::parser parser;
  const simdjson::dom::object body_fields = body_object(parser, body);

  // Last occurrence wins, as with Python's json module; null is the same as absent.
  Fields fields;
  for (const auto& [key, value] : body_fields) {
    for (size_t i = 0; i < kFieldCount; ++i) {
      if (key == kFieldNames[i]) {
        fields[i] = value;
        break;
      }
    }
  }
  for (auto& field : fields) {
    if (field && field->is_null()) field.reset();
  }
  const auto present = [&](Field f) -> const std::optional<element>& { return fields[f]; };

  CompletionRequest request;
  request.endpoint = endpoint;
  sampler::SamplingParams& sampling = request.sampling;

  if (const auto& v = present(kModel)) request.model = string(*v, "model");

  if (endpoint == Endpoint::chat) {
    const auto& messages = present(kMessages);
    if (!messages) fail("messages", "\"messages\" is required: a non-empty array of message objects");
    request.messages_json = array_of_objects(*messages, "messages", false, kMaxMessages);
    if (const auto& v = present(kTools)) {
      request.tools = parse_tools(*v);
      request.tools_json = simdjson::minify(*v);
    }
    request.tool_choice = parse_tool_choice(present(kToolChoice), request.tools);
    if (const auto& v = present(kParallelToolCalls)) {
      request.parallel_tool_calls = boolean(*v, "parallel_tool_calls");
    }
    if (const auto& v = present(kAddGenerationPrompt)) {
      request.add_generation_prompt = boolean(*v, "add_generation_prompt");
    }
  } else {
    const auto& prompt = present(kPrompt);
    if (!prompt) fail("prompt", "\"prompt\" is required: a string, an array of strings or of token ids");
    request.prompts = parse_prompts(*prompt, "prompt", kMaxPrompts);
    if (const auto& v = present(kEcho)) request.echo = boolean(*v, "echo");
  }

  if (const auto& v = present(kN)) {
    request.n = static_cast<int32_t>(
        integer_in(*v, "n", 1, kMaxChoices, fmt::format("an integer between 1 and {}", kMaxChoices)));
  }
  if (const auto& v = present(kStream)) request.stream = boolean(*v, "stream");
  if (const auto& v = present(kStreamOptions)) {
    if (v->type() != element_type::OBJECT) fail("stream_options", "an object", *v);
    if (!request.stream) fail("stream_options", "\"stream_options\" can only be set when \"stream\" is true");
    element include_usage;
    if (!v->at_key("include_usage").get(include_usage) && !include_usage.is_null()) {
      request.include_usage = boolean(include_usage, "stream_options.include_usage");
    }
  }

  if (endpoint == Endpoint::completion) sampling.max_tokens = kDefaultCompletionMaxTokens;
  for (const Field f : {kMaxTokens, kMaxCompletionTokens}) {  // in this order: max_completion_tokens wins
    if (const auto& v = present(f)) {
      sampling.max_tokens = static_cast<int32_t>(
          integer_in(*v, kFieldNames[f], 0, kMaxInt32, "an integer between 1 and 2147483647 (or null)"));
      // As vLLM: 0 scores the prompt (echo with logprobs) and generates nothing.
      if (sampling.max_tokens == 0 && !request.echo) {
        fail(kFieldNames[f], fmt::format("\"{}\" must be at least 1 (0 only with \"echo\": true, to score the "
                                         "prompt)", kFieldNames[f]));
      }
    }
  }

  if (const auto& v = present(kTemperature)) {
    sampling.temperature = number_in(*v, "temperature", 0, 2, false, "a number between 0 and 2");
  }
  if (const auto& v = present(kTopP)) {
    sampling.top_p = number_in(*v, "top_p", 0, 1, true, "a number greater than 0 and at most 1");
  }
  if (const auto& v = present(kTopK)) {
    const int64_t top_k = integer_in(*v, "top_k", -1, kMaxInt32, "an integer: -1 or 0 (off), or at least 1");
    sampling.top_k = top_k <= 0 ? 0 : static_cast<int32_t>(top_k);
  }
  if (const auto& v = present(kMinP)) sampling.min_p = number_in(*v, "min_p", 0, 1, false, "a number between 0 and 1");
  if (const auto& v = present(kPresencePenalty)) {
    sampling.presence_penalty = number_in(*v, "presence_penalty", -2, 2, false, "a number between -2 and 2");
  }
  if (const auto& v = present(kFrequencyPenalty)) {
    sampling.frequency_penalty = number_in(*v, "frequency_penalty", -2, 2, false, "a number between -2 and 2");
  }
  if (const auto& v = present(kRepetitionPenalty)) {
    sampling.repetition_penalty = number_in(*v, "repetition_penalty", 0, std::numeric_limits<float>::max(), true,
                                            "a number greater than 0");
  }
  if (const auto& v = present(kSeed)) {
    // OpenAI's clients send any int64; negative seeds keep their bit pattern.
    if (v->type() == element_type::UINT64) {
      sampling.seed = v->get_uint64().value_unsafe();
    } else if (const std::optional<int64_t> seed = integer_value(*v)) {
      sampling.seed = static_cast<uint64_t>(*seed);
    } else {
      fail("seed", "an integer", *v);
    }
  }
  if (const auto& v = present(kLogitBias)) parse_logit_bias(*v, sampling.logit_bias);
  if (const auto& v = present(kStop)) parse_stop(*v, sampling.stop);
  if (const auto& v = present(kStopTokenIds)) {
    if (v->type() != element_type::ARRAY) fail("stop_token_ids", "an array of token ids", *v);
    size_t index = 0;
    const simdjson::dom::array items = v->get_array().value_unsafe();
    for (const element item : items) {
      if (index == kMaxStopTokenIds) {
        fail("stop_token_ids", fmt::format("\"stop_token_ids\" holds more than {} token ids", kMaxStopTokenIds));
      }
      sampling.stop_token_ids.push_back(token_id_at(item, "stop_token_ids", index++));
    }
  }
  if (const auto& v = present(kIgnoreEos)) sampling.ignore_eos = boolean(*v, "ignore_eos");
  if (const auto& v = present(kSkipSpecialTokens)) request.skip_special_tokens = boolean(*v, "skip_special_tokens");

  if (endpoint == Endpoint::chat) {
    if (const auto& v = present(kLogprobs)) sampling.logprobs = boolean(*v, "logprobs");
    if (const auto& v = present(kTopLogprobs)) {
      sampling.top_logprobs = static_cast<int32_t>(
          integer_in(*v, "top_logprobs", 0, sampler::kMaxTopLogprobs,
                     fmt::format("an integer between 0 and {}", sampler::kMaxTopLogprobs)));
      if (!sampling.logprobs) fail("top_logprobs", "\"top_logprobs\" requires \"logprobs\" to be true");
    }
  } else if (const auto& v = present(kLogprobs)) {
    // Legacy completions: `logprobs` is the number of alternatives per token.
    sampling.logprobs = true;
    sampling.top_logprobs = static_cast<int32_t>(
        integer_in(*v, "logprobs", 0, kMaxCompletionLogprobs,
                   fmt::format("an integer between 0 and {} (or null)", kMaxCompletionLogprobs)));
  }

  if (const auto& v = present(kUser)) request.user = string(*v, "user");
  if (const auto& v = present(kCacheSalt)) request.cache_salt = string(*v, "cache_salt");
  if (const auto& v = present(kCache)) request.semantic_cache = boolean(*v, "cache");
  request.constraint = output_constraint(fields);
  if (forces_tool_call(request.tool_choice)) {
    if (request.constraint.kind) {
      const std::string_view field = std::string_view(request.constraint.param).substr(
          0, request.constraint.param.find('.'));  // "response_format", not "response_format.json_schema.schema"
      fail("tool_choice", fmt::format(R"("tool_choice" "required" or a named function cannot be combined with "{}": )"
                                      R"(both constrain the output)",
                                      field));
    }
    request.constraint = {grammar::SourceKind::json_schema,
                          forced_tool_call_schema(request.tools, request.tool_choice, request.parallel_tool_calls),
                          "tool_choice"};
  }
  refuse_unimplemented(fields, endpoint);
  return request;
}

TokenizeRequest parse_tokenize_request(std::string_view body) {
  simdjson::dom::parser parser;
  const simdjson::dom::object object = body_object(parser, body);
  TokenizeRequest request;
  element value;
  if (!object["add_special_tokens"].get(value)) request.add_special_tokens = boolean(value, "add_special_tokens");
  if (!object["add_generation_prompt"].get(value)) {
    request.add_generation_prompt = boolean(value, "add_generation_prompt");
  }
  std::string_view prompt;
  if (!object["prompt"].get(prompt)) {
    request.prompt = prompt;
  } else if (!object["messages"].get(value)) {
    request.messages_json = array_of_objects(value, "messages", true, kMaxMessages);
  } else {
    fail("prompt", R"(give "prompt" (a string) or "messages" (an array of chat messages))");
  }
  return request;
}

std::vector<int32_t> parse_detokenize_request(std::string_view body, size_t vocab_size) {
  simdjson::dom::parser parser;
  const simdjson::dom::object object = body_object(parser, body);
  simdjson::dom::array array;
  if (object["tokens"].get(array)) fail("tokens", R"("tokens" must be an array of token ids)");
  std::vector<int32_t> tokens;
  for (const element item : array) {
    int64_t id = -1;
    if (item.get(id) || id < 0 || uint64_t(id) >= vocab_size) {
      const std::string path = indexed("tokens", tokens.size());
      fail(path, fmt::format(R"("{}" must be a token id from 0 to {})", path, vocab_size - 1));
    }
    tokens.push_back(int32_t(id));
  }
  return tokens;
}

}  // namespace rs::api
