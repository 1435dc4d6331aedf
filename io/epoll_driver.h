#pragma once
// The shard's operations where io_uring is refused: epoll (level-triggered) says which descriptor is
// ready, a non-blocking call does the operation, and its result is delivered as io_uring would.
#include <sys/epoll.h>

#include <chrono>
#include <unordered_map>
#include <vector>

#include "io/socket_driver.h"

namespace rs::io {

class EpollDriver final : public SocketDriver {
 public:
  // Throws std::runtime_error when epoll cannot be set up.
  EpollDriver(const DriverOptions& options, Handler handler);
  ~EpollDriver() override;
  EpollDriver(const EpollDriver&) = delete;
  EpollDriver& operator=(const EpollDriver&) = delete;

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
  // What is armed on one descriptor. Listeners and the eventfd are watched while armed; sockets from
  // adopt() to forget().
  struct Watch {
    enum class Kind : uint8_t { socket, listener, reader } kind = Kind::socket;
    bool input = false;  // accept / read / recv armed
    uint64_t input_tag = 0;
    void* into = nullptr;  // reader: where the read goes
    size_t bytes = 0;
    const msghdr* output = nullptr;  // a send waiting for room in the socket
    uint64_t output_tag = 0;
    uint32_t events = 0;  // what epoll watches for; 0: not in the epoll set
  };
  using Clock = std::chrono::steady_clock;

  void watch(int fd, Watch& w);
  void end_input(int fd, Watch& w, int result);  // disarms input and queues its final completion
  void on_ready(int fd, uint32_t events);
  void accept_ready(int fd, Watch& w);
  void read_ready(int fd, Watch& w);
  void recv_ready(int fd, Watch& w);
  bool try_send(int fd, Watch& w);  // false: the socket has no room; the send stays pending
  void deliver_queued();

  const DriverOptions options_;
  Handler handler_;
  int epoll_fd_ = -1;
  std::unordered_map<int, Watch> watches_;
  std::vector<Completion> queued_;  // delivered after the readiness scan: all but received bytes
  std::vector<Completion> delivering_;
  std::vector<epoll_event> events_;
  std::vector<char> buffer_;  // each recv lands here and is handed over before the next
  bool timer_armed_ = false;
  uint64_t timer_tag_ = 0;
  Clock::time_point deadline_{};
};

}  // namespace rs::io
