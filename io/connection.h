#pragma once
// One client connection's HTTP/1.1 state: parsing, the pipeline of requests
// awaiting responses (answered strictly in order), response framing, limits
// and timeouts. No sockets here: the shard feeds bytes in and sends what
// gather() returns, which keeps this unit-testable.
#include <sys/uio.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "io/http_metrics.h"
#include "io/http_response.h"
#include "io/output_budget.h"
#include "io/request_parser.h"
#include "io/server_config.h"

namespace rs::io {

using Clock = std::chrono::steady_clock;

// One request and the response to it.
struct Exchange {
  uint64_t id = 0;
  Request request;          // complete once `dispatched`; empty for errors before the head
  bool head_only = false;   // HEAD: framed as GET, no body sent
  bool client_keep_alive = false;
  bool http10 = false;      // no chunked framing: a stream ends at close
  bool dispatched = false;  // the whole request arrived and went to its handler
  bool responded = false;   // the response head is produced
  bool finished = false;    // the last response byte is produced
  bool keep_alive = true;   // fixed when the head is produced
  Framing framing = Framing::content_length;
  std::vector<Bytes> early_output;  // produced while an earlier response holds the wire
  std::function<void()> on_abort;   // the client went away before `finished`
  std::function<void()> on_cut;     // shutdown: end the response now, saying why (else 503, or the stream ends)
  int status = 0;
  size_t body_bytes = 0;
  Clock::time_point received_at;
};

class Connection {
 public:
  // Called with each complete request; the handler answers through respond()
  // or the stream calls, now or later.
  using Dispatch = std::function<void(Connection&, Exchange&)>;

  // `now` and `date` are the shard's clock and HTTP date, read once per loop
  // turn rather than once per request.
  Connection(uint64_t id, std::string peer, const ServerConfig& config, HttpMetrics& metrics,
             OutputBudget& budget, const Clock::time_point& now, const std::string& date, Dispatch dispatch);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  uint64_t id() const { return id_; }
  const std::string& peer() const { return peer_; }

  // Input. Bytes beyond what may be parsed now (pipeline full) are kept and
  // parsed as responses complete.
  void receive(std::string_view bytes);
  void receive_eof();  // the client closed its side: cancel what is in flight
  bool wants_input() const;  // false while the pipeline is full or reading is over

  // Responses (the shard thread only).
  Exchange* find(uint64_t exchange_id);
  void respond(Exchange& exchange, Response&& response);
  void stream_begin(Exchange& exchange, StreamHead&& head);
  // False once the exchange is over or the client reads too slowly (then the
  // connection is to be closed: see broken()).
  bool stream_write(Exchange& exchange, Bytes&& bytes);
  void stream_end(Exchange& exchange);

  // Output, for the socket.
  bool has_output() const { return out_bytes_ > 0; }
  size_t gather(iovec* iov, size_t max_iov) const;
  void sent(size_t bytes);
  // Everything that will ever be sent is out: close (gracefully) now.
  bool done() const { return close_after_output_ && out_bytes_ == 0; }
  // The client cannot be served any more (too slow): close at once.
  bool broken() const { return broken_; }

  // Lifecycle.
  enum class Timeout { none, request_timed_out, idle, write_stalled };
  // Answers 408 for a request that takes too long to arrive (the first one
  // from accept); reports idleness, and output the socket stopped taking.
  Timeout check_timeouts();
  // How long queued output has waited for the socket to take a byte (0: none waits).
  Clock::duration stalled_for() const;
  // Stop taking new requests; answer those already received, then close.
  void drain();
  // Shutdown deadline: end every unfinished response now (see Exchange::on_cut);
  // returns how many were cut. The connection closes once its output is out.
  size_t cut();
  // The connection is lost: tell every unfinished exchange.
  void abort();
  // Over the shard's connection limit: answer the first request 503 and close.
  void reject_over_capacity() { over_capacity_ = true; }
  bool idle() const;
  // Idle between keep-alive requests: what a shard at its connection limit closes first.
  bool idle_keep_alive() const { return idle() && next_exchange_id_ > 1 && !reading_done_; }
  Clock::time_point last_activity() const { return last_activity_; }

 private:
  void parse(std::string_view bytes);
  Exchange& open_exchange();
  void fail(int status, const std::string& message);
  void emit(Exchange& exchange, Bytes&& bytes);  // takes its bytes from the budget
  void queue(Exchange& exchange, Bytes&& bytes);  // bytes already taken from the budget
  std::string produce_head(Exchange& exchange, int status, std::string_view content_type,
                           const std::vector<Header>& headers, Framing framing, size_t length);
  void finish(Exchange& exchange);
  void advance();
  void stop_reading();

  uint64_t id_;
  std::string peer_;
  const ServerConfig& config_;
  HttpMetrics& metrics_;
  OutputBudget& budget_;
  const Clock::time_point& now_;
  const std::string& date_;
  Dispatch dispatch_;
  RequestParser parser_;

  std::deque<std::unique_ptr<Exchange>> pipeline_;  // front() holds the wire
  Exchange* receiving_ = nullptr;  // its head arrived, its body is arriving
  uint64_t next_exchange_id_ = 1;
  std::string stash_;              // received, not yet parsed (pipeline full)

  std::deque<Bytes> out_;          // on the wire, in order
  size_t out_offset_ = 0;          // bytes of out_.front() already sent
  size_t out_bytes_ = 0;           // unsent bytes in out_
  size_t pending_bytes_ = 0;       // unsent bytes in out_ and in early outputs: what we hold of the budget

  bool reading_done_ = false;      // no further request will be parsed
  bool close_after_output_ = false;
  bool draining_ = false;
  bool over_capacity_ = false;
  bool broken_ = false;
  bool in_advance_ = false;
  bool parsing_ = false;
  Clock::time_point head_started_{};  // accept, for the first request; its first byte after that
  Clock::time_point body_started_{};
  Clock::time_point last_activity_{};
  Clock::time_point write_progress_{};  // the socket last took bytes, or output began waiting
};

}  // namespace rs::io
