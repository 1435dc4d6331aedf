#include "perf/ringperf/http_response_parser.h"

namespace rs::ringperf {
namespace {

HttpResponseParser* self(llhttp_t* parser) { return static_cast<HttpResponseParser*>(parser->data); }

}  // namespace

HttpResponseParser::HttpResponseParser() {
  llhttp_settings_init(&settings_);
  settings_.on_message_begin = &HttpResponseParser::on_message_begin;
  settings_.on_headers_complete = &HttpResponseParser::on_headers_complete;
  settings_.on_body = &HttpResponseParser::on_body;
  settings_.on_message_complete = &HttpResponseParser::on_message_complete;
  llhttp_init(&parser_, HTTP_RESPONSE, &settings_);
  parser_.data = this;
}

void HttpResponseParser::reset(Handler& handler) {
  llhttp_init(&parser_, HTTP_RESPONSE, &settings_);
  parser_.data = this;
  handler_ = &handler;
  started_ = complete_ = interim_ = false;
  error_.clear();
}

int HttpResponseParser::on_message_begin(llhttp_t* parser) {
  self(parser)->started_ = true;
  return 0;
}

int HttpResponseParser::on_headers_complete(llhttp_t* parser) {
  HttpResponseParser& s = *self(parser);
  s.interim_ = parser->status_code < 200;
  if (!s.interim_) s.handler_->on_status(parser->status_code);
  return 0;
}

int HttpResponseParser::on_body(llhttp_t* parser, const char* at, size_t length) {
  self(parser)->handler_->on_body({at, length});
  return 0;
}

int HttpResponseParser::on_message_complete(llhttp_t* parser) {
  HttpResponseParser& s = *self(parser);
  if (s.interim_) return 0;  // "100 Continue" and the like: the real response follows
  s.complete_ = true;
  s.handler_->on_message_complete(llhttp_should_keep_alive(parser) != 0);
  return HPE_PAUSED;
}

bool HttpResponseParser::feed(std::string_view bytes) {
  if (complete_) {
    if (bytes.empty()) return true;
    error_ = "bytes after the end of the response";
    return false;
  }
  const llhttp_errno_t rc = llhttp_execute(&parser_, bytes.data(), bytes.size());
  if (rc == HPE_OK) return true;
  if (rc == HPE_PAUSED) {
    const size_t used = static_cast<size_t>(llhttp_get_error_pos(&parser_) - bytes.data());
    if (used == bytes.size()) return true;
    error_ = "bytes after the end of the response";
    return false;
  }
  error_ = llhttp_get_error_reason(&parser_);
  return false;
}

bool HttpResponseParser::finish() {
  if (complete_) return true;
  if (!started_) return false;
  // A body without Content-Length or chunking ends at the close: llhttp completes it here.
  return llhttp_finish(&parser_) == HPE_OK && complete_;
}

}  // namespace rs::ringperf
