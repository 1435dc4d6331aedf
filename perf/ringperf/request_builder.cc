#include "perf/ringperf/request_builder.h"

#include <fmt/format.h>

#include "core/base/json_write.h"

namespace rs::ringperf {

std::string_view api_path(ApiEndpoint endpoint) {
  return endpoint == ApiEndpoint::chat ? "/v1/chat/completions" : "/v1/completions";
}

namespace {

void append_message(std::string& body, std::string_view role, std::string_view content) {
  body += "{\"role\":";
  json::append_string(body, role);
  body += ",\"content\":";
  json::append_string(body, content);
  body += '}';
}

}  // namespace

std::string build_request_body(const RequestOptions& options, const RequestSpec& spec) {
  std::string body;
  body.reserve(spec.system.size() + spec.user.size() + spec.messages_json.size() + 256);
  body += '{';
  if (!options.model.empty()) {
    body += "\"model\":";
    json::append_string(body, options.model);
    body += ',';
  }
  if (options.endpoint == ApiEndpoint::chat) {
    body += "\"messages\":";
    if (!spec.messages_json.empty()) {
      body += spec.messages_json;
    } else {
      body += '[';
      if (!spec.system.empty()) {
        append_message(body, "system", spec.system);
        body += ',';
      }
      append_message(body, "user", spec.user);
      body += ']';
    }
  } else {
    body += "\"prompt\":";
    // The shared prefix first, so a prefix cache can recognise it.
    json::append_string(body, spec.system.empty() ? spec.user : spec.system + "\n\n" + spec.user);
  }
  if (spec.max_tokens) {
    fmt::format_to(std::back_inserter(body), ",\"max_tokens\":{}", *spec.max_tokens);
    if (options.ignore_eos) body += ",\"ignore_eos\":true";
  }
  body += ",\"stream\":true,\"stream_options\":{\"include_usage\":true}";
  if (!options.extra_fields.empty()) {
    body += ',';
    body += options.extra_fields;
  }
  body += '}';
  return body;
}

std::string build_http_request(const ServerUrl& server, std::string_view method, std::string_view path,
                               std::string_view body, std::string_view api_key) {
  std::string request;
  request.reserve(body.size() + 256);
  fmt::format_to(std::back_inserter(request), "{} {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: ringperf\r\n", method, path,
                 server.host_header);
  if (!api_key.empty()) fmt::format_to(std::back_inserter(request), "Authorization: Bearer {}\r\n", api_key);
  if (!body.empty() || method == "POST") {
    fmt::format_to(std::back_inserter(request), "Content-Type: application/json\r\nContent-Length: {}\r\n",
                   body.size());
  }
  request += "\r\n";
  request += body;
  return request;
}

}  // namespace rs::ringperf
