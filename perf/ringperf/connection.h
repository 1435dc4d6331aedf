#pragma once
// One keep-alive HTTP/1.1 connection of the load generator, carrying one
// streamed request at a time. Non-blocking: the generator's epoll loop calls
// on_events(); the connection keeps its own epoll registration current.
#include <cstdint>
#include <string>

#include "perf/ringperf/http_response_parser.h"
#include "perf/ringperf/server_url.h"
#include "perf/ringperf/stream_measurement.h"

namespace rs::ringperf {

class Connection {
 public:
  // `slot`: the owner's index for this connection (a closed-loop user).
  Connection(const ServerUrl& server, int epoll_fd, StreamChunkReader& reader, size_t slot);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Sends `request`, connecting first when the connection is closed. A
  // connect that fails at once finishes the request here: check finished().
  void begin(uint64_t sequence, int64_t issued_ns, int64_t estimated_prompt_tokens, std::string request,
             int64_t now_ns);
  void on_events(uint32_t epoll_events, int64_t now_ns);
  void time_out(int64_t now_ns, double timeout_s);

  size_t slot() const { return slot_; }
  bool busy() const { return busy_; }
  bool finished() const { return busy_ && measurement_.done(); }
  int64_t issued_ns() const { return issued_ns_; }
  // The finished request's record; the connection is idle afterwards (closed
  // unless the server kept it alive and the request succeeded).
  RequestRecord take_record();
  void close();

 private:
  enum class State { closed, connecting, sending, receiving, idle };

  void open(int64_t now_ns);
  // A kept-alive connection the server had closed before our request reached
  // it: send the request again, once, on a new connection (it never started).
  void reopen(int64_t now_ns);
  void finish_connect(int64_t now_ns);
  void write_some(int64_t now_ns);
  void read_some(int64_t now_ns);
  void fail(ErrorKind kind, std::string detail, int64_t now_ns);
  void set_state(State state);

  const ServerUrl& server_;
  const int epoll_fd_;
  const size_t slot_;
  int fd_ = -1;
  State state_ = State::closed;
  uint32_t registered_events_ = 0;
  bool busy_ = false;
  bool reused_ = false;  // the request went out on a connection kept alive from an earlier one
  int64_t issued_ns_ = 0;
  std::string request_;
  size_t written_ = 0;
  HttpResponseParser parser_;
  StreamMeasurement measurement_;
};

}  // namespace rs::ringperf
