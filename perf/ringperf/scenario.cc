#include "perf/ringperf/scenario.h"

#include <simdjson.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <map>
#include <optional>
#include <sstream>

#include <fmt/format.h>

namespace rs::ringperf {
namespace {

using simdjson::dom::element;
using simdjson::dom::object;

// The fields each workload type takes, besides "type".
const std::map<std::string_view, std::vector<std::string_view>, std::less<>> kWorkloadFields = {
    {"sharegpt", {"length_scale", "max_input_tokens", "max_output_tokens"}},
    {"fixed", {"input_tokens", "output_tokens"}},
    {"shared_prefix", {"prefixes", "prefix_tokens", "question_tokens", "output_tokens"}},
    {"repeated_questions", {"questions", "question_tokens", "output_tokens", "repeat_fraction"}},
    {"jsonl", {"path", "output_tokens"}},
};
// Body fields ringperf sets itself: request_fields may not repeat them.
constexpr std::array<std::string_view, 7> kOwnBodyFields = {"model",      "prompt", "messages",      "max_tokens",
                                                            "ignore_eos", "stream", "stream_options"};
constexpr int64_t kMaxTokens = 10'000'000;

std::string join(const std::vector<std::string_view>& names) {
  std::string out;
  for (const std::string_view name : names) out += fmt::format("{}\"{}\"", out.empty() ? "" : ", ", name);
  return out;
}

// Reads one JSON object's fields, each checked, each error naming file and field.
class Fields {
 public:
  Fields(const std::string& file, std::string prefix, object value)
      : file_(file), prefix_(std::move(prefix)), object_(value) {}

  [[noreturn]] void fail(std::string_view field, std::string_view why) const {
    throw ScenarioError(fmt::format("{}: {}{}: {}", file_, prefix_, field, why));
  }

  // Every field present must be one of `known`.
  void allow_only(const std::vector<std::string_view>& known, std::string_view what) const {
    for (const auto field : object_) {
      if (std::find(known.begin(), known.end(), field.key) == known.end()) {
        fail(field.key, fmt::format("not a field of {} (its fields: {})", what, join(known)));
      }
    }
  }

  bool has(std::string_view key) const { return !object_.at_key(key).error(); }

  std::optional<element> get(std::string_view key) const {
    element value;
    if (object_.at_key(key).get(value)) return std::nullopt;
    return value;
  }

  std::optional<std::string> string(std::string_view key) const {
    const auto value = get(key);
    if (!value) return std::nullopt;
    std::string_view text;
    if (value->get(text)) fail(key, "must be a string");
    return std::string(text);
  }

  std::string choice(std::string_view key, std::initializer_list<std::string_view> allowed,
                     std::optional<std::string_view> fallback) const {
    const auto value = string(key);
    if (!value) {
      if (!fallback) fail(key, fmt::format("required: one of {}", join(std::vector<std::string_view>(allowed))));
      return std::string(*fallback);
    }
    if (std::find(allowed.begin(), allowed.end(), *value) == allowed.end()) {
      fail(key, fmt::format("must be one of {}, got \"{}\"", join(std::vector<std::string_view>(allowed)), *value));
    }
    return *value;
  }

  std::optional<double> number(std::string_view key, double min, bool min_inclusive) const {
    const auto value = get(key);
    if (!value) return std::nullopt;
    double number;
    if (value->get(number) || !std::isfinite(number)) fail(key, "must be a number");
    if (number < min || (!min_inclusive && number == min)) {
      fail(key, fmt::format("must be {} {}, got {}", min_inclusive ? "at least" : "more than", min, number));
    }
    return number;
  }

  std::optional<int64_t> integer(std::string_view key, int64_t min, int64_t max) const {
    const auto value = get(key);
    if (!value) return std::nullopt;
    return checked_integer(*value, key, min, max);
  }

  int64_t required_integer(std::string_view key, int64_t min, int64_t max, std::string_view why) const {
    const auto value = integer(key, min, max);
    if (!value) fail(key, fmt::format("required {}", why));
    return *value;
  }

  int64_t checked_integer(element value, std::string_view key, int64_t min, int64_t max) const {
    int64_t integer;
    if (value.get(integer)) {
      double number;  // 4.0 is an integer; 4.5 is not
      if (value.get(number) || number != std::trunc(number) || std::abs(number) > 9e15) {
        fail(key, "must be an integer");
      }
      integer = static_cast<int64_t>(number);
    }
    if (integer < min || integer > max) fail(key, fmt::format("must be from {} to {}, got {}", min, max, integer));
    return integer;
  }

  std::optional<bool> boolean(std::string_view key) const {
    const auto value = get(key);
    if (!value) return std::nullopt;
    bool flag;
    if (value->get(flag)) fail(key, "must be true or false");
    return flag;
  }

  object child(std::string_view key) const {
    const auto value = get(key);
    if (!value) fail(key, "required");
    object result;
    if (value->get(result)) fail(key, "must be an object");
    return result;
  }

 private:
  const std::string& file_;
  std::string prefix_;
  object object_;
};

WorkloadConfig parse_workload(const Fields& fields, const std::string& path) {
  WorkloadConfig config;
  const std::string type =
      fields.choice("type", {"sharegpt", "fixed", "shared_prefix", "repeated_questions", "jsonl"}, std::nullopt);
  std::vector<std::string_view> known = kWorkloadFields.find(type)->second;
  known.insert(known.begin(), "type");
  fields.allow_only(known, fmt::format("a \"{}\" workload", type));

  const auto tokens = [&](std::string_view key) {
    return static_cast<int>(fields.required_integer(key, 1, kMaxTokens, "(tokens, at least 1)"));
  };
  if (type == "sharegpt") {
    config.type = WorkloadType::sharegpt;
    config.length_scale = fields.number("length_scale", 0, false).value_or(1.0);
    if (const auto cap = fields.integer("max_input_tokens", 1, kMaxTokens)) config.max_input_tokens = *cap;
    if (const auto cap = fields.integer("max_output_tokens", 1, kMaxTokens)) config.max_output_tokens = *cap;
  } else if (type == "fixed") {
    config.type = WorkloadType::fixed;
    config.input_tokens = tokens("input_tokens");
    config.output_tokens = tokens("output_tokens");
  } else if (type == "shared_prefix") {
    config.type = WorkloadType::shared_prefix;
    config.prefixes = static_cast<int>(fields.integer("prefixes", 1, 100'000).value_or(4));
    config.prefix_tokens = tokens("prefix_tokens");
    config.question_tokens = tokens("question_tokens");
    config.output_tokens = tokens("output_tokens");
  } else if (type == "repeated_questions") {
    config.type = WorkloadType::repeated_questions;
    config.questions = static_cast<int>(fields.required_integer("questions", 1, 1'000'000, "(distinct questions)"));
    config.question_tokens = tokens("question_tokens");
    config.output_tokens = tokens("output_tokens");
    config.repeat_fraction = fields.number("repeat_fraction", 0, true).value_or(1.0);
    if (config.repeat_fraction > 1) {
      fields.fail("repeat_fraction", fmt::format("must be from 0 to 1 (a share of the requests), got {}",
                                                 config.repeat_fraction));
    }
  } else {
    config.type = WorkloadType::jsonl;
    const auto file = fields.string("path");
    if (!file || file->empty()) fields.fail("path", "required: the JSONL prompt file");
    const std::filesystem::path resolved = std::filesystem::path(path).parent_path() / *file;
    config.path = std::filesystem::path(*file).is_absolute() ? *file : resolved.lexically_normal().string();
    if (!std::filesystem::exists(config.path)) fields.fail("path", fmt::format("no such file: {}", config.path));
    config.output_tokens = static_cast<int>(fields.integer("output_tokens", 1, kMaxTokens).value_or(0));
  }
  return config;
}

LoadConfig parse_load(const Fields& fields) {
  LoadConfig load;
  const std::string shape = fields.choice("shape", {"closed", "poisson"}, std::nullopt);
  load.shape = shape == "closed" ? LoadShape::closed : LoadShape::poisson;
  if (load.shape == LoadShape::closed) {
    fields.allow_only({"shape", "concurrency", "max_concurrency", "warmup_seconds", "duration_seconds", "requests",
                       "request_timeout_seconds"},
                      "a \"closed\" load");
    if (fields.has("concurrency") == fields.has("max_concurrency")) {
      fields.fail("concurrency", "give either \"concurrency\" (a list of user counts) or \"max_concurrency\"");
    }
    if (const auto max = fields.integer("max_concurrency", 1, 100'000)) {
      for (int64_t users = 1; users < *max; users *= 2) load.concurrency.push_back(static_cast<int>(users));
      load.concurrency.push_back(static_cast<int>(*max));
    } else {
      simdjson::dom::array list;
      if (fields.get("concurrency")->get(list) || list.size() == 0) {
        fields.fail("concurrency", "must be a non-empty array of user counts");
      }
      for (const element value : list) {
        const std::string key = fmt::format("concurrency[{}]", load.concurrency.size());
        const int users = static_cast<int>(fields.checked_integer(value, key, 1, 100'000));
        if (!load.concurrency.empty() && users <= load.concurrency.back()) fields.fail(key, "the list must increase");
        load.concurrency.push_back(users);
      }
    }
  } else {
    fields.allow_only({"shape", "rates", "warmup_seconds", "duration_seconds", "requests", "request_timeout_seconds",
                       "max_connections"},
                      "a \"poisson\" load");
    const auto rates = fields.get("rates");
    simdjson::dom::array list;
    if (!rates || rates->get(list) || list.size() == 0) {
      fields.fail("rates", "required: a non-empty array of request rates (requests per second)");
    }
    for (const element value : list) {
      const std::string key = fmt::format("rates[{}]", load.rates.size());
      double rate;
      if (value.get(rate) || !(rate > 0) || !std::isfinite(rate)) fields.fail(key, "must be a positive number");
      if (!load.rates.empty() && rate <= load.rates.back()) fields.fail(key, "the list must increase");
      load.rates.push_back(rate);
    }
    load.max_connections = static_cast<int>(fields.integer("max_connections", 1, 1'000'000).value_or(1024));
  }
  load.warmup_s = fields.number("warmup_seconds", 0, true).value_or(2.0);
  load.duration_s = fields.number("duration_seconds", 0, false).value_or(0);
  load.requests = fields.integer("requests", 1, 1'000'000'000).value_or(0);
  if (load.duration_s == 0 && load.requests == 0) {
    fields.fail("duration_seconds", "give \"duration_seconds\" or \"requests\" (or both: whichever comes first)");
  }
  load.request_timeout_s = fields.number("request_timeout_seconds", 0, false).value_or(300);
  return load;
}

}  // namespace

PointPlan Scenario::plan(size_t index) const {
  PointPlan plan;
  plan.shape = load.shape;
  if (load.shape == LoadShape::closed)
    plan.concurrency = load.concurrency.at(index);
  else
    plan.rate = load.rates.at(index);
  plan.warmup_s = load.warmup_s;
  plan.duration_s = load.duration_s;
  plan.requests = load.requests;
  plan.request_timeout_s = load.request_timeout_s;
  plan.max_connections = load.max_connections;
  plan.arrival_seed = workload.seed;
  return plan;
}

Scenario parse_scenario(std::string_view json, const std::string& path) {
  simdjson::dom::parser parser;
  const simdjson::padded_string padded(json);
  element root;
  if (const auto error = parser.parse(padded).get(root)) {
    throw ScenarioError(fmt::format("{}: not valid JSON ({})", path, simdjson::error_message(error)));
  }
  object top;
  if (root.get(top)) throw ScenarioError(fmt::format("{}: the scenario must be a JSON object", path));
  const Fields fields(path, "", top);
  fields.allow_only({"description", "endpoint", "model", "seed", "ignore_eos", "request_fields", "workload", "load"},
                    "a scenario");

  Scenario scenario;
  scenario.path = path;
  scenario.name = std::filesystem::path(path).stem().string();
  scenario.source_json = simdjson::minify(root);
  scenario.description = fields.string("description").value_or("");
  scenario.endpoint = fields.choice("endpoint", {"completions", "chat"}, "completions") == "chat"
                          ? ApiEndpoint::chat
                          : ApiEndpoint::completions;
  scenario.model = fields.string("model").value_or("");
  scenario.ignore_eos = fields.boolean("ignore_eos").value_or(true);
  if (const auto extra = fields.get("request_fields")) {
    object members;
    if (extra->get(members)) fields.fail("request_fields", "must be an object of request body fields");
    for (const auto field : members) {
      if (std::find(kOwnBodyFields.begin(), kOwnBodyFields.end(), field.key) != kOwnBodyFields.end()) {
        fields.fail(fmt::format("request_fields.{}", field.key), "ringperf sets this field itself");
      }
    }
    const std::string minified = simdjson::minify(*extra);
    scenario.request_fields = minified.substr(1, minified.size() - 2);
  }
  const uint64_t seed = static_cast<uint64_t>(fields.integer("seed", 0, int64_t{1} << 53).value_or(1));
  scenario.workload = parse_workload(Fields(path, "workload.", fields.child("workload")), path);
  scenario.workload.seed = seed;
  scenario.load = parse_load(Fields(path, "load.", fields.child("load")));
  return scenario;
}

Scenario load_scenario(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ScenarioError(fmt::format("{}: cannot open the scenario file", path));
  std::stringstream text;
  text << in.rdbuf();
  return parse_scenario(text.str(), path);
}

}  // namespace rs::ringperf
