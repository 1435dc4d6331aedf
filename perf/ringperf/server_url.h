#pragma once
// The server under test: where to connect and which paths to ask for.
#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace rs::ringperf {

struct ServerUrl {
  std::string text;  // as given, for reports
  std::string host;  // as written in the URL
  uint16_t port = 80;
  std::string base_path;  // "" or "/prefix", never a trailing slash
  std::string host_header;
  sockaddr_storage address{};  // resolved once, so a run does no DNS look-ups
  socklen_t address_length = 0;

  // base_path + path, e.g. "/v1/completions".
  std::string path(std::string_view api_path) const { return base_path + std::string(api_path); }
};

// Parses http://HOST[:PORT][/PREFIX] and resolves HOST. A trailing "/v1" is
// dropped, so the base URL an OpenAI client takes works too. Throws
// std::runtime_error saying what is wrong (https is not supported: ringperf
// measures the server, and TLS on the client would be its own bottleneck).
ServerUrl parse_server_url(std::string_view url);

}  // namespace rs::ringperf
