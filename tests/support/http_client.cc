#include "tests/support/http_client.h"

#include <arpa/inet.h>
#include <llhttp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>

namespace rs::test {

std::optional<std::string> HttpResponse::header(std::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (strcasecmp(n.c_str(), std::string(name).c_str()) == 0) return v;
  }
  return std::nullopt;
}

HttpClient::HttpClient(uint16_t port) {
  fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ADD_FAILURE() << "connect to port " << port << ": " << std::strerror(errno);
    ::close(fd_);
    fd_ = -1;
    return;
  }
  const int one = 1;
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

HttpClient::HttpClient(HttpClient&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), buffer_(std::move(other.buffer_)), eof_(other.eof_) {}

HttpClient::~HttpClient() { close(); }

void HttpClient::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void HttpClient::send(std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n <= 0) {
      ADD_FAILURE() << "send: " << std::strerror(errno);
      return;
    }
    bytes.remove_prefix(static_cast<size_t>(n));
  }
}

bool HttpClient::fill(std::chrono::milliseconds timeout) {
  if (eof_ || fd_ < 0) return false;
  pollfd p{fd_, POLLIN, 0};
  if (poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return false;
  char chunk[65536];
  const ssize_t n = recv(fd_, chunk, sizeof chunk, 0);
  if (n <= 0) {
    eof_ = true;
    return false;
  }
  buffer_.append(chunk, static_cast<size_t>(n));
  return true;
}

namespace {

struct ResponseParse {
  HttpResponse response;
  std::string field;
  bool in_value = false;
  bool complete = false;
  bool head_request = false;
};

ResponseParse& state(llhttp_t* p) { return *static_cast<ResponseParse*>(p->data); }

}  // namespace

std::optional<HttpResponse> HttpClient::read_response(std::chrono::milliseconds timeout,
                                                      bool head_request) {
  llhttp_settings_t settings;
  llhttp_settings_init(&settings);
  settings.on_header_field = [](llhttp_t* p, const char* at, size_t n) {
    ResponseParse& s = state(p);
    if (s.in_value) s.field.clear();
    s.in_value = false;
    s.field.append(at, n);
    return 0;
  };
  settings.on_header_value = [](llhttp_t* p, const char* at, size_t n) {
    ResponseParse& s = state(p);
    if (!s.in_value) s.response.headers.emplace_back(s.field, "");
    s.in_value = true;
    s.response.headers.back().second.append(at, n);
    return 0;
  };
  settings.on_headers_complete = [](llhttp_t* p) {
    ResponseParse& s = state(p);
    s.response.status = p->status_code;
    s.in_value = false;
    s.field.clear();
    return s.head_request ? 1 : 0;  // a HEAD response has no body whatever its headers say
  };
  settings.on_chunk_header = [](llhttp_t* p) {
    if (p->content_length > 0) state(p).response.chunks.emplace_back();
    return 0;
  };
  settings.on_body = [](llhttp_t* p, const char* at, size_t n) {
    ResponseParse& s = state(p);
    s.response.body.append(at, n);
    if (p->flags & F_CHUNKED) s.response.chunks.back().append(at, n);
    return 0;
  };
  settings.on_message_complete = [](llhttp_t* p) {
    ResponseParse& s = state(p);
    s.response.keep_alive = llhttp_should_keep_alive(p) != 0;
    s.complete = true;
    return static_cast<int>(HPE_PAUSED);
  };
  // A 1xx interim response is a message of its own: skip past it.
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    llhttp_t parser;
    llhttp_init(&parser, HTTP_RESPONSE, &settings);
    ResponseParse parse;
    parse.head_request = head_request;
    parser.data = &parse;
    size_t offset = 0;
    while (!parse.complete) {
      if (offset < buffer_.size()) {
        const char* start = buffer_.data() + offset;
        const llhttp_errno_t err = llhttp_execute(&parser, start, buffer_.size() - offset);
        if (err == HPE_PAUSED) {
          offset = static_cast<size_t>(llhttp_get_error_pos(&parser) - buffer_.data());
          break;
        }
        if (err != HPE_OK) {
          ADD_FAILURE() << "malformed response: " << llhttp_get_error_reason(&parser) << "\n"
                        << buffer_;
          return std::nullopt;
        }
        offset = buffer_.size();
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return std::nullopt;
      if (!fill(left)) {
        if (eof_ && llhttp_finish(&parser) == HPE_OK && parse.response.status != 0) {
          parse.complete = true;  // a body delimited by the close
          offset = buffer_.size();
          break;
        }
        return std::nullopt;
      }
    }
    buffer_.erase(0, offset);
    if (parse.response.status >= 200) return parse.response;
  }
}

std::string HttpClient::read_until(std::string_view needle, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (buffer_.find(needle) == std::string::npos) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || !fill(left)) break;
  }
  return buffer_;
}

bool HttpClient::wait_closed(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!eof_) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    if (!fill(left) && !eof_) return false;
  }
  return true;
}

bool can_connect(uint16_t port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

std::optional<HttpResponse> fetch(uint16_t port, std::string_view request) {
  HttpClient client(port);
  if (!client.connected()) return std::nullopt;
  client.send(request);
  return client.read_response();
}

std::string get_request(std::string_view path, std::string_view extra_headers) {
  return "GET " + std::string(path) + " HTTP/1.1\r\nHost: test\r\n" + std::string(extra_headers) +
         "\r\n";
}

}  // namespace rs::test
