#pragma once
// One parsed HTTP/1.1 request, owning its bytes.
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace rs::io {

enum class Method { get, head, post, put, del, options, patch, other };

std::string_view method_name(Method method);

struct Header {
  std::string name;
  std::string value;
};

struct Request {
  Method method = Method::other;
  std::string method_text;  // as sent, for logs and 405 messages
  std::string target;       // request-target as sent: path and query
  int version_major = 1;
  int version_minor = 1;
  std::vector<Header> headers;
  std::string body;
  bool keep_alive = true;   // the client allows another request on this connection

  std::string_view path() const;   // target without the query
  std::string_view query() const;  // after '?', or empty
  // Value of the first header with this name, compared case-insensitively.
  std::optional<std::string_view> header(std::string_view name) const;
};

bool iequals(std::string_view a, std::string_view b);

}  // namespace rs::io
