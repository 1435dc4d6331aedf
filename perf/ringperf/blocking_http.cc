#include "perf/ringperf/blocking_http.h"

#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <fmt/format.h>

#include "perf/ringperf/clock.h"
#include "perf/ringperf/http_response_parser.h"
#include "perf/ringperf/request_builder.h"

namespace rs::ringperf {
namespace {

struct CollectReply : HttpResponseParser::Handler {
  HttpReply reply;
  void on_status(int status) override { reply.status = status; }
  void on_body(std::string_view bytes) override { reply.body.append(bytes); }
  void on_message_complete(bool) override {}
};

class Socket {
 public:
  explicit Socket(int fd) : fd_(fd) {}
  ~Socket() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

}  // namespace

HttpReply fetch(const ServerUrl& server, std::string_view method, std::string_view path, std::string_view body,
                std::string_view api_key, double timeout_s) {
  const auto fail = [&](std::string_view why) {
    throw std::runtime_error(fmt::format("{} {}{}: {}", method, server.text, path, why));
  };
  const int64_t deadline = now_ns() + seconds_to_ns(timeout_s);

  Socket socket_fd(::socket(server.address.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (socket_fd.get() < 0) fail(std::strerror(errno));
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout_s);
  tv.tv_usec = static_cast<suseconds_t>((timeout_s - static_cast<double>(tv.tv_sec)) * 1e6);
  setsockopt(socket_fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(socket_fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);  // bounds connect() too
  if (connect(socket_fd.get(), reinterpret_cast<const sockaddr*>(&server.address), server.address_length) != 0) {
    fail(fmt::format("cannot connect: {}", std::strerror(errno)));
  }
  const std::string request = build_http_request(server, method, path, body, api_key);
  for (size_t sent = 0; sent < request.size();) {
    const ssize_t n = ::send(socket_fd.get(), request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) fail(fmt::format("send: {}", std::strerror(errno)));
    sent += static_cast<size_t>(n);
  }

  CollectReply collect;
  HttpResponseParser parser;
  parser.reset(collect);
  std::array<char, 16384> buffer;
  while (!parser.complete()) {
    if (now_ns() > deadline) fail("no answer in time");
    const ssize_t n = ::recv(socket_fd.get(), buffer.data(), buffer.size(), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail(errno == EAGAIN ? "no answer in time" : std::strerror(errno));
    if (n == 0) {
      if (!parser.finish()) fail("the server closed the connection before answering");
      break;
    }
    if (!parser.feed({buffer.data(), static_cast<size_t>(n)})) fail(fmt::format("malformed HTTP: {}", parser.error()));
  }
  return std::move(collect.reply);
}

}  // namespace rs::ringperf
