#include "perf/ringperf/connection.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace rs::ringperf {
namespace {

// One receive buffer for every connection: the loop is single-threaded and
// each read is parsed before the next.
thread_local std::array<char, 64 * 1024> receive_buffer;

}  // namespace

Connection::Connection(const ServerUrl& server, int epoll_fd, StreamChunkReader& reader, size_t slot)
    : server_(server), epoll_fd_(epoll_fd), slot_(slot), measurement_(reader) {}

Connection::~Connection() { close(); }

void Connection::close() {
  if (fd_ >= 0) ::close(fd_);  // also takes it out of the epoll set
  fd_ = -1;
  state_ = State::closed;
  registered_events_ = 0;
}

void Connection::set_state(State state) {
  state_ = state;
  uint32_t wanted = EPOLLIN | EPOLLRDHUP;
  if (state == State::connecting || state == State::sending) wanted |= EPOLLOUT;
  if (state == State::closed || wanted == registered_events_) return;
  epoll_event event{};
  event.events = wanted;
  event.data.ptr = this;
  epoll_ctl(epoll_fd_, registered_events_ == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, fd_, &event);
  registered_events_ = wanted;
}

void Connection::begin(uint64_t sequence, int64_t issued_ns, int64_t estimated_prompt_tokens, std::string request,
                       int64_t now_ns) {
  busy_ = true;
  issued_ns_ = issued_ns;
  request_ = std::move(request);
  written_ = 0;
  measurement_.start(sequence, issued_ns, estimated_prompt_tokens);
  parser_.reset(measurement_);
  reused_ = state_ == State::idle;
  if (state_ == State::idle) {
    set_state(State::sending);
    write_some(now_ns);
  } else {
    open(now_ns);
  }
}

void Connection::open(int64_t now_ns) {
  close();
  fd_ = socket(server_.address.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return fail(ErrorKind::connect, fmt::format("socket: {}", std::strerror(errno)), now_ns);
  const int one = 1;
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);  // a request is one write: send it now
  if (connect(fd_, reinterpret_cast<const sockaddr*>(&server_.address), server_.address_length) == 0) {
    set_state(State::sending);
    return write_some(now_ns);
  }
  if (errno != EINPROGRESS) {
    return fail(ErrorKind::connect, fmt::format("connect to {}: {}", server_.host_header, std::strerror(errno)),
                now_ns);
  }
  set_state(State::connecting);
}

void Connection::reopen(int64_t now_ns) {
  reused_ = false;
  written_ = 0;
  parser_.reset(measurement_);
  open(now_ns);
}

void Connection::finish_connect(int64_t now_ns) {
  int error = 0;
  socklen_t length = sizeof error;
  if (getsockopt(fd_, SOL_SOCKET, SO_ERROR, &error, &length) != 0) error = errno;
  if (error != 0) {
    return fail(ErrorKind::connect, fmt::format("connect to {}: {}", server_.host_header, std::strerror(error)),
                now_ns);
  }
  set_state(State::sending);
  write_some(now_ns);
}

void Connection::write_some(int64_t now_ns) {
  if (written_ == 0) measurement_.mark_sent(now_ns);
  while (written_ < request_.size()) {
    const ssize_t n = ::send(fd_, request_.data() + written_, request_.size() - written_, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;  // EPOLLOUT resumes it
      if (errno == EINTR) continue;
      if (reused_) return reopen(now_ns);
      return fail(ErrorKind::disconnected, fmt::format("send: {}", std::strerror(errno)), now_ns);
    }
    written_ += static_cast<size_t>(n);
  }
  set_state(State::receiving);
}

void Connection::read_some(int64_t now_ns) {
  while (fd_ >= 0) {
    const ssize_t n = ::recv(fd_, receive_buffer.data(), receive_buffer.size(), 0);
    if (n > 0) {
      if (!busy_ || measurement_.done()) {
        close();  // bytes nobody asked for: this connection cannot be trusted with another request
        return;
      }
      measurement_.set_arrival(now_ns);
      if (!parser_.feed({receive_buffer.data(), static_cast<size_t>(n)})) {
        return fail(ErrorKind::malformed, fmt::format("malformed HTTP response: {}", parser_.error()), now_ns);
      }
      if (measurement_.done()) return;
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n < 0 && errno == EINTR) continue;
    // The peer closed (n == 0) or reset the connection.
    if (!busy_ || measurement_.done()) {
      close();
      return;
    }
    measurement_.set_arrival(now_ns);
    if (n == 0 && parser_.finish()) {
      close();
      return;
    }
    if (reused_ && !parser_.started()) return reopen(now_ns);
    const std::string why = n == 0 ? "the server closed the connection" : std::strerror(errno);
    return fail(ErrorKind::disconnected,
                fmt::format("{} {}", why, parser_.started() ? "mid-response" : "before responding"), now_ns);
  }
}

void Connection::on_events(uint32_t epoll_events, int64_t now_ns) {
  if (state_ == State::connecting) {
    if (epoll_events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) finish_connect(now_ns);
    return;
  }
  if (state_ == State::sending && (epoll_events & EPOLLOUT)) write_some(now_ns);
  if (fd_ >= 0 && (epoll_events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) read_some(now_ns);
}

void Connection::time_out(int64_t now_ns, double timeout_s) {
  fail(ErrorKind::timeout, fmt::format("no complete response within {} s", timeout_s), now_ns);
}

void Connection::fail(ErrorKind kind, std::string detail, int64_t now_ns) {
  measurement_.fail(kind, std::move(detail), now_ns);
  close();  // the server sees the close and cancels the request
}

RequestRecord Connection::take_record() {
  busy_ = false;
  RequestRecord record = measurement_.take();
  if (state_ != State::closed) {
    if (measurement_.keep_alive() && record.ok())
      set_state(State::idle);
    else
      close();
  }
  return record;
}

}  // namespace rs::ringperf
