#pragma once
// One request and its whole response on a fresh blocking connection, for the
// few questions ringperf asks before a run (the model's name, its tokenizer):
// never on the measured path.
#include <string>
#include <string_view>

#include "perf/ringperf/server_url.h"

namespace rs::ringperf {

struct HttpReply {
  int status = 0;
  std::string body;
};

// Throws std::runtime_error when the server cannot be reached, does not answer
// within `timeout_s`, or answers something that is not HTTP.
HttpReply fetch(const ServerUrl& server, std::string_view method, std::string_view path, std::string_view body,
                std::string_view api_key, double timeout_s = 10);

}  // namespace rs::ringperf
