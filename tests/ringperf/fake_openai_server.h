#pragma once
// A scripted OpenAI-compatible streaming server for ringperf's tests: a
// thread per connection, blocking sockets, keep-alive. It streams each answer
// on a fixed timetable (TTFT, then one chunk per token every ITL), so what
// ringperf measures can be compared with what was scripted.
//
// Given a ScriptedClock, it listens on a Unix socket and keeps its timetable
// on that clock: a load generator on the same clock then measures exactly the
// timetable, however busy the machine. Without one, it listens on TCP and
// sleeps in real time: for tests of the protocol that assert no times.
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

#include "perf/ringperf/server_url.h"
#include "tests/ringperf/scripted_clock.h"

namespace rs::ringperf::test {

struct FakeScript {
  int head_ms = 0;          // request read → response headers (and a chat stream's role chunk)
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
  FifoSlots(int slots, ScriptedClock* clock) : clock_(clock), free_(slots) {}
  void acquire();
  void release();

 private:
  bool my_turn(uint64_t ticket) const { return ticket == serving_ && free_ > 0; }

  ScriptedClock* clock_;
  std::mutex mutex_;
  std::condition_variable changed_;
  int free_;
  uint64_t next_ticket_ = 0;
  uint64_t serving_ = 0;
};

class FakeOpenAiServer {
 public:
  explicit FakeOpenAiServer(FakeScript script = {}, ScriptedClock* clock = nullptr);
  ~FakeOpenAiServer();
  FakeOpenAiServer(const FakeOpenAiServer&) = delete;
  FakeOpenAiServer& operator=(const FakeOpenAiServer&) = delete;

  // http://127.0.0.1:PORT on TCP; unix:PATH, which only names it, on a Unix socket.
  std::string url() const;
  // Where ringperf connects.
  ServerUrl address() const;
  int64_t streams_started() const { return streams_started_.load(); }

 private:
  void accept_loop();
  void serve_connection(int fd);
  void stream_answer(int fd, const std::string& path, const std::string& body);
  // The fake server's time and waits: on the scripted clock when it has one.
  int64_t time_ns() const;
  void sleep_until(int64_t deadline_ns) const;
  bool wait_readable(int fd);  // false once the server is stopping
  ssize_t receive(int fd, char* buffer, size_t size);
  void close_connection(int fd);  // and ends its thread

  FakeScript script_;
  ScriptedClock* clock_;
  std::string socket_path_;  // on a Unix socket
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

// A server address on the Unix socket at `path`.
ServerUrl unix_server_url(const std::string& path);

}  // namespace rs::ringperf::test
