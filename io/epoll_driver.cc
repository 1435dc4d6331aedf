#include "io/epoll_driver.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "core/base/log.h"

namespace rs::io {
namespace {

constexpr size_t kMaxEvents = 256;
constexpr int kAcceptBurst = 64;           // accepts per readiness, so a flood cannot starve the rest

bool would_block(int err) { return err == EAGAIN || err == EWOULDBLOCK || err == EINTR; }

}  // namespace

EpollDriver::EpollDriver(const DriverOptions& options, Handler handler)
    : options_(options), handler_(std::move(handler)), events_(kMaxEvents), buffer_(kReceiveBufferBytes) {
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) throw std::runtime_error(fmt::format("epoll_create1: {}", std::strerror(errno)));
}

EpollDriver::~EpollDriver() { close(epoll_fd_); }

// Brings epoll's interest in `fd` in line with what is armed on it. Level-triggered, and a descriptor
// with nothing armed leaves the set: epoll reports hang-ups and errors whatever it was asked for.
void EpollDriver::watch(int fd, Watch& w) {
  uint32_t want = 0;
  if (w.input) want |= EPOLLIN;
  if (w.output != nullptr) want |= EPOLLOUT;
  if (want == w.events) return;
  epoll_event event{};
  event.events = want;
  event.data.fd = fd;
  const int op = w.events == 0 ? EPOLL_CTL_ADD : want == 0 ? EPOLL_CTL_DEL : EPOLL_CTL_MOD;
  if (epoll_ctl(epoll_fd_, op, fd, &event) == 0 || op == EPOLL_CTL_DEL) {
    w.events = want;
    return;
  }
  // Cannot watch it (out of memory, max_user_watches): what was armed fails now rather than never.
  const int err = errno;
  if (w.events != 0) epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
  w.events = 0;
  if (w.input) queued_.push_back({w.input_tag, -err, false, {}});
  if (w.output != nullptr) queued_.push_back({w.output_tag, -err, false, {}});
  w.input = false;
  w.output = nullptr;
}

void EpollDriver::end_input(int fd, Watch& w, int result) {
  w.input = false;
  queued_.push_back({w.input_tag, result, false, {}});
  watch(fd, w);
  if (w.kind != Watch::Kind::socket && w.output == nullptr) watches_.erase(fd);
}

void EpollDriver::accept(int listen_fd, uint64_t tag) {
  const int flags = fcntl(listen_fd, F_GETFL);
  if (flags >= 0 && !(flags & O_NONBLOCK)) fcntl(listen_fd, F_SETFL, flags | O_NONBLOCK);
  Watch& w = watches_[listen_fd];
  w.kind = Watch::Kind::listener;
  w.input = true;
  w.input_tag = tag;
  watch(listen_fd, w);
}

void EpollDriver::cancel_accept(uint64_t tag) {
  const auto it = std::find_if(watches_.begin(), watches_.end(), [&](const auto& entry) {
    return entry.second.kind == Watch::Kind::listener && entry.second.input && entry.second.input_tag == tag;
  });
  if (it != watches_.end()) end_input(it->first, it->second, -ECANCELED);
}

void EpollDriver::read(int fd, void* into, size_t bytes, uint64_t tag) {
  Watch& w = watches_[fd];
  w.kind = Watch::Kind::reader;
  w.into = into;
  w.bytes = bytes;
  w.input = true;
  w.input_tag = tag;
  watch(fd, w);
}

void EpollDriver::timeout(std::chrono::nanoseconds after, uint64_t tag) {
  timer_armed_ = true;
  timer_tag_ = tag;
  deadline_ = Clock::now() + after;
}

void EpollDriver::adopt(int fd) { watches_[fd] = Watch{}; }

void EpollDriver::forget(int fd) {
  const auto it = watches_.find(fd);
  if (it == watches_.end()) return;
  if (it->second.events != 0) epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
  watches_.erase(it);
}

void EpollDriver::recv(int fd, uint64_t tag) {
  Watch& w = watches_.at(fd);
  w.input = true;
  w.input_tag = tag;
  watch(fd, w);
}

void EpollDriver::cancel_recv(int fd, uint64_t tag) {
  Watch& w = watches_.at(fd);
  if (w.input && w.input_tag == tag) end_input(fd, w, -ECANCELED);
}

void EpollDriver::send(int fd, const msghdr& message, uint64_t tag) {
  Watch& w = watches_.at(fd);
  w.output = &message;
  w.output_tag = tag;
  if (!try_send(fd, w)) watch(fd, w);  // usually the socket has room and the send is done here
}

bool EpollDriver::try_send(int fd, Watch& w) {
  const ssize_t sent = sendmsg(fd, w.output, MSG_NOSIGNAL | MSG_DONTWAIT);
  if (sent < 0 && would_block(errno)) return false;
  queued_.push_back({w.output_tag, sent < 0 ? -errno : int(sent), false, {}});
  w.output = nullptr;
  watch(fd, w);
  return true;
}

void EpollDriver::cancel_all(int fd) {
  const auto it = watches_.find(fd);
  if (it == watches_.end()) return;
  Watch& w = it->second;
  if (w.output != nullptr) {
    queued_.push_back({w.output_tag, -ECANCELED, false, {}});
    w.output = nullptr;
  }
  if (w.input) {
    end_input(fd, w, -ECANCELED);
  } else {
    watch(fd, w);
  }
}

void EpollDriver::wait() {
  int timeout_ms = -1;
  if (!queued_.empty()) {
    timeout_ms = 0;
  } else if (timer_armed_) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline_ - Clock::now()).count();
    timeout_ms = int(std::max<int64_t>(0, left));
  }
  const int ready = epoll_wait(epoll_fd_, events_.data(), int(events_.size()), timeout_ms);
  if (ready < 0 && errno != EINTR) log::error("shard {}: epoll_wait: {}", options_.shard, std::strerror(errno));
  for (int i = 0; i < ready; ++i) on_ready(events_[i].data.fd, events_[i].events);
  if (timer_armed_ && Clock::now() >= deadline_) {
    timer_armed_ = false;
    queued_.push_back({timer_tag_, -ETIME, false, {}});
  }
  deliver_queued();
}

// A descriptor from this scan may have been forgotten by a handler since: then it is skipped.
void EpollDriver::on_ready(int fd, uint32_t events) {
  const auto it = watches_.find(fd);
  if (it == watches_.end()) return;
  Watch& w = it->second;
  if (w.output != nullptr && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) try_send(fd, w);
  if (!w.input || !(events & (EPOLLIN | EPOLLERR | EPOLLHUP))) return;
  switch (w.kind) {
    case Watch::Kind::listener: accept_ready(fd, w); return;
    case Watch::Kind::reader: read_ready(fd, w); return;
    case Watch::Kind::socket: recv_ready(fd, w); return;
  }
}

void EpollDriver::accept_ready(int fd, Watch& w) {
  for (int i = 0; i < kAcceptBurst; ++i) {
    const int socket = accept4(fd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (socket >= 0) {
      queued_.push_back({w.input_tag, socket, true, {}});
      continue;
    }
    const int err = errno;
    if (err == EAGAIN || err == EWOULDBLOCK) return;
    if (err == EINTR || err == ECONNABORTED) continue;
    end_input(fd, w, -err);  // out of descriptors and the like: the shard re-arms on its next tick
    return;
  }
}

void EpollDriver::read_ready(int fd, Watch& w) {
  const ssize_t n = ::read(fd, w.into, w.bytes);
  if (n < 0 && would_block(errno)) return;
  end_input(fd, w, n < 0 ? -errno : int(n));
}

void EpollDriver::recv_ready(int fd, Watch& w) {
  const ssize_t n = ::recv(fd, buffer_.data(), buffer_.size(), 0);
  if (n < 0 && would_block(errno)) return;
  if (n <= 0) {
    end_input(fd, w, n < 0 ? -errno : 0);
    return;
  }
  // Delivered now, while the bytes are in the buffer; the handler may forget `fd`, so `w` is not used after.
  handler_({w.input_tag, int(n), true, {buffer_.data(), size_t(n)}});
}

void EpollDriver::deliver_queued() {
  delivering_.swap(queued_);
  for (const Completion& completion : delivering_) handler_(completion);
  delivering_.clear();
}

}  // namespace rs::io
