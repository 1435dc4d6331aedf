#pragma once
// Response values and their HTTP/1.1 wire form.
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "io/http_request.h"

namespace rs::io {

// Bytes to send: owned, shared, or borrowed from storage that outlives the
// send (static data). The wire writer points iovecs at them; it never copies.
class Bytes {
 public:
  Bytes() = default;
  Bytes(std::string owned) : data_(std::move(owned)) {}  // NOLINT: implicit by design
  static Bytes borrowed(std::string_view text) { return Bytes(Data(text)); }
  static Bytes shared(std::shared_ptr<const std::string> text) { return Bytes(Data(std::move(text))); }

  std::string_view view() const;
  size_t size() const { return view().size(); }
  bool empty() const { return size() == 0; }

 private:
  using Data = std::variant<std::string, std::string_view, std::shared_ptr<const std::string>>;
  explicit Bytes(Data data) : data_(std::move(data)) {}
  Data data_;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::vector<Header> headers;  // extra headers; framing headers are added on the wire
  Bytes body;
};

// Start of a streamed response whose body is sent in pieces as it is produced.
struct StreamHead {
  int status = 200;
  std::string content_type = "text/event-stream";
  std::vector<Header> headers;
};

std::string_view reason_phrase(int status);

// OpenAI-style error: {"error":{"message":…,"type":…,"param":…,"code":status}};
// param is the request field at fault, null when "".
Response error_response(int status, std::string_view message, std::string_view param = "");
std::string error_body(int status, std::string_view message, std::string_view param = "");

enum class Framing { content_length, chunked, until_close };

struct HeadFields {
  int status;
  std::string_view content_type;
  const std::vector<Header>* headers;
  Framing framing;
  size_t content_length;  // with Framing::content_length
  bool keep_alive;
  std::string_view date;  // an HTTP-date, e.g. "Sun, 22 Nov 2026 04:09:00 GMT"
};
std::string format_head(const HeadFields& fields);

// A piece of a chunked body: size line, data, CRLF. Empty data is not allowed
// (it would end the body); the terminator is kChunkedEnd.
std::string chunk_prefix(size_t size);
inline constexpr std::string_view kChunkCrlf = "\r\n";
inline constexpr std::string_view kChunkedEnd = "0\r\n\r\n";
inline constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

// One Server-Sent Event carrying `data` (split into data: lines at newlines).
std::string sse_event(std::string_view data);

std::string http_date(long unix_seconds);

}  // namespace rs::io
