#include "perf/ringperf/server_url.h"

#include <netdb.h>

#include <charconv>
#include <cstring>
#include <stdexcept>

#include <fmt/format.h>

namespace rs::ringperf {

ServerUrl parse_server_url(std::string_view url) {
  ServerUrl result;
  result.text = std::string(url);
  const auto fail = [&](std::string_view why) { throw std::runtime_error(fmt::format("--url {}: {}", url, why)); };
  constexpr std::string_view kScheme = "http://";
  if (url.starts_with("https://")) fail("https is not supported; give the server's plain http address");
  if (!url.starts_with(kScheme)) fail("expected http://HOST[:PORT][/PREFIX]");
  std::string_view rest = url.substr(kScheme.size());
  const size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash);
  if (authority.empty()) fail("no host");

  std::string_view host = authority;
  if (authority.front() == '[') {  // [IPv6]:port
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) fail("unclosed '[' in the host");
    host = authority.substr(1, close - 1);
    authority.remove_prefix(close + 1);
    if (!authority.empty() && authority.front() != ':') fail("expected ':' after ']'");
  } else {
    const size_t colon = authority.rfind(':');
    host = authority.substr(0, colon);
    authority = colon == std::string_view::npos ? std::string_view{} : authority.substr(colon);
  }
  if (!authority.empty()) {  // ":port"
    std::string_view digits = authority.substr(1);
    unsigned port = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
    if (ec != std::errc{} || end != digits.data() + digits.size() || port == 0 || port > 65535) {
      fail("the port must be a number from 1 to 65535");
    }
    result.port = static_cast<uint16_t>(port);
  }
  if (host.empty()) fail("no host");
  result.host = std::string(host);
  result.host_header = std::string(rest.substr(0, slash));

  while (path.ends_with('/')) path.remove_suffix(1);
  if (path.ends_with("/v1")) path.remove_suffix(3);
  result.base_path = std::string(path);

  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(result.port);
  if (const int rc = getaddrinfo(result.host.c_str(), service.c_str(), &hints, &found); rc != 0) {
    fail(fmt::format("cannot resolve {}: {}", result.host, gai_strerror(rc)));
  }
  std::memcpy(&result.address, found->ai_addr, found->ai_addrlen);
  result.address_length = found->ai_addrlen;
  freeaddrinfo(found);
  return result;
}

}  // namespace rs::ringperf
