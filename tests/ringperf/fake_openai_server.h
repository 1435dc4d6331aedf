#pragma once
// A scripted OpenAI-compatible streaming server for ringperf's tests: a
// thread per connection, blocking sockets, keep-alive. It streams each answer
// on a fixed timetable (TTFT, then one chunk per token every ITL), so what
// ringperf measures can be compared with what was scripted.
//
// A prompt may carry directives, words of the form:
//   ttft_ms=N  itl_ms=N  tokens=N   this request's timetable and length
//   status=N                        answer N with an OpenAI error body instead
//   malformed                       stream a chunk that is not JSON
//   disconnect                      close the connection after the first token
//   hang                            never answer (until the client closes)
//   no_usage                        leave the usage chunk out
//   close_after                     close the connection after the answer, without saying so
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace rs::ringperf::test {

struct FakeScript {
  int ttft_ms = 20;         // request read (and a slot taken) → first token
  int itl_ms = 5;           // between tokens
  int default_tokens = 10;  // without max_tokens or tokens=
  // More than 0: at most this many answers stream at once and the others
  // wait for a slot, as a server whose batch is full: throughput stops
  // rising past `slots` concurrent requests while TTFT climbs.
  int slots = 0;
};

// Slots taken first come, first served, as a server's admission queue: with
// an unfair semaphore the user who just released a slot would often take it
// again, starving others, and no server schedules like that.
class FifoSlots {
 public:
  explicit FifoSlots(int slots) : free_(slots) {}
  void acquire();
  void release();

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  int free_;
  uint64_t next_ticket_ = 0;
  uint64_t serving_ = 0;
};

class FakeOpenAiServer {
 public:
  explicit FakeOpenAiServer(FakeScript script = {});
  ~FakeOpenAiServer();
  FakeOpenAiServer(const FakeOpenAiServer&) = delete;
  FakeOpenAiServer& operator=(const FakeOpenAiServer&) = delete;

  uint16_t port() const { return port_; }
  std::string url() const;
  int64_t streams_started() const { return streams_started_.load(); }

 private:
  void accept_loop();
  void serve_connection(int fd);
  void stream_answer(int fd, const std::string& path, const std::string& body);

  FakeScript script_;
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int64_t> streams_started_{0};
  FifoSlots slots_;
  std::mutex mutex_;
  std::set<int> open_fds_;  // to unblock their threads on shutdown
  std::vector<std::thread> threads_;
  std::thread acceptor_;
};

}  // namespace rs::ringperf::test
