#pragma once
// The bytes ringperf sends: HTTP/1.1 requests, and the OpenAI request bodies
// that ask for a stream with usage and, where the server allows, an exact
// output length (max_tokens plus vLLM's ignore_eos).
#include <string>
#include <string_view>

#include "perf/ringperf/request_spec.h"
#include "perf/ringperf/server_url.h"

namespace rs::ringperf {

enum class ApiEndpoint { completions, chat };
std::string_view api_path(ApiEndpoint endpoint);  // "/v1/completions" or "/v1/chat/completions"

struct RequestOptions {
  ApiEndpoint endpoint = ApiEndpoint::completions;
  std::string model;         // empty: the field is left out
  bool ignore_eos = true;    // only sent with a max_tokens, so a stream always ends
  std::string extra_fields;  // a JSON object's members ("\"temperature\":0,…") added to every body
  std::string api_key;       // empty: no Authorization header
};

std::string build_request_body(const RequestOptions& options, const RequestSpec& spec);

// An HTTP/1.1 request with keep-alive; a body, when given, is JSON.
std::string build_http_request(const ServerUrl& server, std::string_view method, std::string_view path,
                               std::string_view body, std::string_view api_key);

}  // namespace rs::ringperf
