#include "perf/ringperf/server_probe.h"

#include <simdjson.h>

#include "core/base/json_write.h"
#include "perf/ringperf/blocking_http.h"
#include "perf/ringperf/prompt_text.h"

namespace rs::ringperf {

std::optional<std::string> discover_model(const ServerUrl& server, const std::string& api_key) {
  const HttpReply reply = fetch(server, "GET", server.path("/v1/models"), "", api_key);
  if (reply.status != 200) return std::nullopt;
  simdjson::dom::parser parser;
  std::string_view id;
  if (parser.parse(reply.body).at_key("data").at(0).at_key("id").get(id)) return std::nullopt;
  return std::string(id);
}

namespace {

std::optional<int64_t> token_count(const ServerUrl& server, const std::string& model, const std::string& api_key,
                                   const std::string& text) {
  std::string body = "{";
  if (!model.empty()) {
    body += "\"model\":";
    json::append_string(body, model);
    body += ',';
  }
  body += "\"prompt\":";
  json::append_string(body, text);
  body += '}';
  const HttpReply reply = fetch(server, "POST", server.path("/tokenize"), body, api_key);
  if (reply.status != 200) return std::nullopt;
  simdjson::dom::parser parser;
  int64_t count;
  if (parser.parse(reply.body).at_key("count").get(count)) return std::nullopt;
  return count;
}

}  // namespace

std::optional<double> measure_tokens_per_word(const ServerUrl& server, const std::string& model,
                                              const std::string& api_key) {
  constexpr int kShort = 200, kLong = 1200;
  Rng rng(20240611);
  const std::string short_text = PromptText::words(kShort, rng);
  const std::string long_text = short_text + ' ' + PromptText::words(kLong - kShort, rng);
  const auto short_count = token_count(server, model, api_key, short_text);
  if (!short_count) return std::nullopt;
  const auto long_count = token_count(server, model, api_key, long_text);
  if (!long_count || *long_count <= *short_count) return std::nullopt;
  return static_cast<double>(*long_count - *short_count) / (kLong - kShort);
}

}  // namespace rs::ringperf
