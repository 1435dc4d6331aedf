#pragma once
// The response side of an HTTP/1.1 client connection, parsed by llhttp: the
// status, the body as it arrives (chunked transfer decoded), the end of the
// message, and whether the connection may carry another request.
#include <llhttp.h>

#include <string>
#include <string_view>

namespace rs::ringperf {

class HttpResponseParser {
 public:
  struct Handler {
    virtual ~Handler() = default;
    virtual void on_status(int status) = 0;  // the final (non-1xx) status, once its headers are in
    virtual void on_body(std::string_view bytes) = 0;
    virtual void on_message_complete(bool keep_alive) = 0;
  };

  HttpResponseParser();
  HttpResponseParser(const HttpResponseParser&) = delete;
  HttpResponseParser& operator=(const HttpResponseParser&) = delete;

  // Before each request's response.
  void reset(Handler& handler);
  // Feeds received bytes; false on a malformed response (see error()). Bytes
  // after the end of the response are an error too: we never pipeline.
  bool feed(std::string_view bytes);
  // The peer closed the connection: ends a body delimited by the close.
  // False if a response was cut short.
  bool finish();
  bool started() const { return started_; }
  bool complete() const { return complete_; }
  const std::string& error() const { return error_; }

 private:
  static int on_message_begin(llhttp_t* parser);
  static int on_headers_complete(llhttp_t* parser);
  static int on_body(llhttp_t* parser, const char* at, size_t length);
  static int on_message_complete(llhttp_t* parser);

  llhttp_settings_t settings_;
  llhttp_t parser_;
  Handler* handler_ = nullptr;
  bool started_ = false;
  bool complete_ = false;
  bool interim_ = false;  // inside a 1xx response, which has no body and precedes the real one
  std::string error_;
};

}  // namespace rs::ringperf
