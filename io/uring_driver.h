#pragma once
// The shard's operations on io_uring: multishot accept and recv into a provided-buffer ring, sends as
// send/sendmsg, sockets in the ring's registered-file table where the kernel has one.
#include <liburing.h>

#include <memory>
#include <vector>

#include "io/buffer_ring.h"
#include "io/socket_driver.h"

namespace rs::io {

class UringDriver final : public SocketDriver {
 public:
  // Throws std::runtime_error when the ring or its buffers cannot be set up.
  UringDriver(const DriverOptions& options, Handler handler);
  ~UringDriver() override;
  UringDriver(const UringDriver&) = delete;
  UringDriver& operator=(const UringDriver&) = delete;

  void accept(int listen_fd, uint64_t tag) override;
  void cancel_accept(uint64_t tag) override;
  void read(int fd, void* into, size_t bytes, uint64_t tag) override;
  void timeout(std::chrono::nanoseconds after, uint64_t tag) override;
  void adopt(int fd) override;
  void forget(int fd) override;
  void recv(int fd, uint64_t tag) override;
  void cancel_recv(int fd, uint64_t tag) override;
  void send(int fd, const msghdr& message, uint64_t tag) override;
  void cancel_all(int fd) override;
  void wait() override;

 private:
  io_uring_sqe* sqe();
  void use_slot(io_uring_sqe* s, int fd) const;
  void cancel(uint64_t tag);
  void deliver(const io_uring_cqe& cqe);

  const DriverOptions options_;
  Handler handler_;
  io_uring ring_{};
  std::unique_ptr<BufferRing> buffers_;
  std::vector<int> slot_of_fd_;  // registered-file slot per descriptor, -1 for none
  std::vector<int> free_slots_;  // slots not in use; none at all: plain descriptors
  __kernel_timespec timeout_{};
};

}  // namespace rs::io
