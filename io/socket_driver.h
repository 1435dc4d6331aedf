#pragma once
// What a shard asks of the kernel, in io_uring's terms: operations armed with a tag, answered by
// completions. io_uring does it natively; where io_uring is refused (Docker's and containerd's default
// seccomp profiles, GKE's RuntimeDefault, kernel.io_uring_disabled) epoll readiness plus non-blocking
// calls give the same completions, so the shard's logic is one and the same on both.
#include <sys/socket.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string_view>

namespace rs::io {

enum class IoBackend { automatic, io_uring, epoll };

// Bytes per receive: io_uring's provided buffers, and epoll's one read buffer.
inline constexpr size_t kReceiveBufferBytes = 16 * 1024;

std::string_view to_string(IoBackend backend);

// `automatic`: io_uring where permitted, else epoll.
IoBackend resolve(IoBackend backend);

struct Completion {
  uint64_t tag = 0;       // what the operation was armed with
  int result = 0;         // bytes, an accepted socket, or -errno
  bool more = false;      // a multishot operation (accept, recv) stays armed
  std::string_view data;  // recv: the bytes received; valid only while the handler runs
};

class SocketDriver {
 public:
  using Handler = std::function<void(const Completion&)>;
  virtual ~SocketDriver() = default;

  // Multishot: a completion per accepted socket (close-on-exec) until cancelled or failed (more false).
  virtual void accept(int listen_fd, uint64_t tag) = 0;
  virtual void cancel_accept(uint64_t tag) = 0;
  // One read of at most `bytes` into `into` (the shard's eventfd).
  virtual void read(int fd, void* into, size_t bytes, uint64_t tag) = 0;
  // One completion (result -ETIME) `after` from now. One timeout at a time.
  virtual void timeout(std::chrono::nanoseconds after, uint64_t tag) = 0;

  // A connected socket, from adopt() until forget(), which comes before the caller closes it and
  // only once no operation on it is pending.
  virtual void adopt(int fd) = 0;
  virtual void forget(int fd) = 0;
  // Multishot: a completion per arrival of bytes; 0 (end of input) or an error ends it.
  virtual void recv(int fd, uint64_t tag) = 0;
  virtual void cancel_recv(int fd, uint64_t tag) = 0;
  // `message` must stay valid until the completion, which gives the bytes sent (possibly fewer).
  virtual void send(int fd, const msghdr& message, uint64_t tag) = 0;
  // Every pending operation on `fd` completes soon, cancelled (-ECANCELED) unless it already finished.
  virtual void cancel_all(int fd) = 0;

  // Hands armed operations to the kernel, waits for at least one completion, and runs the handler on
  // each completion there is. The handler may arm and cancel operations.
  virtual void wait() = 0;
};

struct DriverOptions {
  int shard = 0;           // for log lines
  size_t max_sockets = 0;  // connections the shard may hold at once (io_uring sizes its file table by it)
};

}  // namespace rs::io
