#pragma once
// What one request measured, and what one sweep point measured: the raw
// figures every statistic, file and report is computed from.
#include <array>
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace rs::ringperf {

enum class ErrorKind : uint8_t {
  none,
  connect,       // could not open a TCP connection
  http_429,      // the server refused: too many requests
  http_4xx,      // any other client error (a prompt longer than the context, a wrong model name, …)
  http_5xx,      // a server error
  http_other,    // a status that is neither 2xx nor an error (3xx)
  timeout,       // no complete response within request_timeout_seconds
  disconnected,  // the connection closed or reset mid-response
  malformed,     // not HTTP, not SSE, a chunk that is not JSON, or a stream with no text and no usage
  stream_error,  // the server put an error object in the stream
  dropped,       // open loop: an arrival found every allowed connection busy, so it was never sent
};
constexpr size_t kErrorKindCount = 11;
constexpr std::array<ErrorKind, kErrorKindCount - 1> kErrorKinds = {
    ErrorKind::connect, ErrorKind::http_429,     ErrorKind::http_4xx,  ErrorKind::http_5xx,     ErrorKind::http_other,
    ErrorKind::timeout, ErrorKind::disconnected, ErrorKind::malformed, ErrorKind::stream_error, ErrorKind::dropped};

std::string_view error_kind_name(ErrorKind kind);     // "http_429", as in results.json
std::string_view error_kind_meaning(ErrorKind kind);  // one line for report.md
ErrorKind error_kind_for_status(int status);          // none for 2xx

struct RequestRecord {
  uint64_t sequence = 0;      // the request's position in the workload
  int64_t issued_ns = 0;      // when the load shape asked for it (before any connect)
  int64_t sent_ns = 0;        // its first byte written: the clock of every latency starts here
  int64_t first_text_ns = 0;  // the first chunk carrying text; 0 if none came
  int64_t done_ns = 0;        // the end of the response, or the failure
  std::vector<float> itl_ms;  // gaps between consecutive chunks that carried text
  int64_t prompt_tokens = 0;  // from usage (the workload's estimate if the server sent none)
  int64_t output_tokens = 0;  // from usage (chunks with text if the server sent none)
  int64_t text_chunks = 0;
  bool usage_reported = false;
  int http_status = 0;
  ErrorKind error = ErrorKind::none;
  std::string error_detail;  // the server's message or what was wrong, for the report

  bool ok() const { return error == ErrorKind::none; }
  // Latencies in milliseconds; NaN where undefined (failed, no text, fewer than two tokens for TPOT).
  double ttft_ms() const;
  double e2e_ms() const;
  double tpot_ms() const;   // (e2e − TTFT) / (output tokens − 1): decode speed once streaming
  double ntpot_ms() const;  // e2e / output tokens: the user's cost per token, queueing and prefill included
};

// Everything one sweep point measured, before statistics.
struct PointMeasurements {
  std::vector<RequestRecord> requests;  // finished (ok or not) inside the measurement window
  int64_t window_start_ns = 0;
  double window_s = 0;        // the measurement window's length
  int64_t unfinished = 0;     // still in flight when the window closed (abandoned, not counted)
  double mean_in_flight = 0;  // time-weighted over the window
  int64_t max_in_flight = 0;
  double client_cpu = 0;  // ringperf's CPU seconds per wall second over the window (1 = a full core)
};

}  // namespace rs::ringperf
