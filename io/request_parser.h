#pragma once
// Incremental HTTP/1.1 request parser: llhttp plus our size limits.
//
// feed() stops after each complete request (pipelined requests are handed
// over one at a time); the caller feeds the rest again. After every feed(),
// take_head() says whether a request head completed in it, so the connection
// can act before the body arrives (100 Continue, pipeline order).
#include <llhttp.h>

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>

#include "io/http_request.h"

namespace rs::io {

struct ParseLimits {
  size_t max_header_bytes = 32 * 1024;         // request line + header fields
  size_t max_body_bytes = 16 * 1024 * 1024;
};

class RequestParser {
 public:
  enum class Event {
    need_more,  // every byte consumed, no request completed
    request,    // request complete (body included): take it with take_request()
    error,      // see error_status() / error_message(); the connection must close
  };
  struct Result {
    Event event;
    size_t consumed;
  };

  explicit RequestParser(ParseLimits limits);
  RequestParser(const RequestParser&) = delete;
  RequestParser& operator=(const RequestParser&) = delete;

  Result feed(std::string_view data);

  const Request& request() const { return request_; }
  Request take_request();
  // True once per request, after the feed() in which its head completed.
  bool take_head() { return std::exchange(head_ready_, false); }

  bool in_progress() const { return state_ != State::idle; }
  bool reading_body() const { return state_ == State::body; }
  bool expects_continue() const { return expects_continue_; }
  int error_status() const { return error_status_; }
  const std::string& error_message() const { return error_message_; }

 private:
  enum class State { idle, head, body };

  static int on_message_begin(llhttp_t* p);
  static int on_url(llhttp_t* p, const char* at, size_t n);
  static int on_method(llhttp_t* p, const char* at, size_t n);
  static int on_header_field(llhttp_t* p, const char* at, size_t n);
  static int on_header_value(llhttp_t* p, const char* at, size_t n);
  static int on_header_value_complete(llhttp_t* p);
  static int on_headers_complete(llhttp_t* p);
  static int on_chunk_header(llhttp_t* p);
  static int on_body(llhttp_t* p, const char* at, size_t n);
  static int on_message_complete(llhttp_t* p);

  int fail(int status, std::string message);
  bool check_framing_headers();  // false after fail(): headers a proxy could read differently from us
  bool count_head_bytes(size_t n);
  Result result_of(llhttp_errno_t err, std::string_view data);

  llhttp_t parser_;
  llhttp_settings_t settings_;
  ParseLimits limits_;
  Request request_;
  State state_ = State::idle;
  size_t head_bytes_ = 0;
  bool field_complete_ = true;  // the next header-field bytes start a new header
  bool expects_continue_ = false;
  bool head_ready_ = false;
  int error_status_ = 0;
  std::string error_message_;
};

}  // namespace rs::io
