#pragma once
// Turns one streamed response, as its bytes arrive, into a RequestRecord. It
// knows nothing of sockets: the connection feeds it bytes with the time they
// arrived, which keeps the arithmetic testable with made-up clocks.
//
// TTFT ends at the first chunk whose text is not empty (a chat stream's first
// chunk, which only names the role, does not count); the inter-token
// latencies are the gaps between chunks that carried text; e2e ends with the
// response. Token counts come from the usage block (ringperf asks for it).
#include <cstdint>
#include <string>
#include <string_view>

#include "perf/ringperf/http_response_parser.h"
#include "perf/ringperf/request_record.h"
#include "perf/ringperf/sse_parser.h"
#include "perf/ringperf/stream_chunk.h"

namespace rs::ringperf {

class StreamMeasurement : public HttpResponseParser::Handler {
 public:
  explicit StreamMeasurement(StreamChunkReader& reader) : reader_(reader) {}

  // A new request: `estimated_prompt_tokens` stands in when the server sends no usage.
  void start(uint64_t sequence, int64_t issued_ns, int64_t estimated_prompt_tokens);
  void mark_sent(int64_t now_ns) { record_.sent_ns = now_ns; }
  // The arrival time of the bytes fed next.
  void set_arrival(int64_t now_ns) { arrival_ns_ = now_ns; }
  // The request failed outside the response (connect, timeout, close): ends it.
  void fail(ErrorKind kind, std::string detail, int64_t now_ns);

  void on_status(int status) override;
  void on_body(std::string_view bytes) override;
  void on_message_complete(bool keep_alive) override;

  bool done() const { return done_; }
  bool keep_alive() const { return keep_alive_; }
  RequestRecord take() { return std::move(record_); }

 private:
  void on_event(std::string_view data);
  void set_error(ErrorKind kind, std::string detail);

  StreamChunkReader& reader_;
  SseParser sse_;
  RequestRecord record_;
  int64_t arrival_ns_ = 0;
  int64_t last_text_ns_ = 0;
  int64_t finish_ns_ = 0;   // the first chunk with a finish_reason: TTFT's fallback when no text came
  std::string error_body_;  // a non-2xx body, kept for its message
  bool done_ = false;
  bool keep_alive_ = false;
  bool saw_done_marker_ = false;  // "data: [DONE]"
};

}  // namespace rs::ringperf
