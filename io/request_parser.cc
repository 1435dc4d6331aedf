#include "io/request_parser.h"

#include <fmt/format.h>

namespace rs::io {
namespace {

RequestParser& self(llhttp_t* p) { return *static_cast<RequestParser*>(p->data); }

Method method_of(uint8_t m) {
  switch (m) {
    case HTTP_GET: return Method::get;
    case HTTP_HEAD: return Method::head;
    case HTTP_POST: return Method::post;
    case HTTP_PUT: return Method::put;
    case HTTP_DELETE: return Method::del;
    case HTTP_OPTIONS: return Method::options;
    case HTTP_PATCH: return Method::patch;
    default: return Method::other;
  }
}

}  // namespace

RequestParser::RequestParser(ParseLimits limits) : limits_(limits) {
  llhttp_settings_init(&settings_);
  settings_.on_message_begin = on_message_begin;
  settings_.on_method = on_method;
  settings_.on_url = on_url;
  settings_.on_header_field = on_header_field;
  settings_.on_header_value = on_header_value;
  settings_.on_header_value_complete = on_header_value_complete;
  settings_.on_headers_complete = on_headers_complete;
  settings_.on_chunk_header = on_chunk_header;
  settings_.on_body = on_body;
  settings_.on_message_complete = on_message_complete;
  llhttp_init(&parser_, HTTP_REQUEST, &settings_);
  parser_.data = this;
}

Request RequestParser::take_request() { return std::move(request_); }

RequestParser::Result RequestParser::feed(std::string_view data) {
  if (error_status_ != 0) return {Event::error, 0};
  return result_of(llhttp_execute(&parser_, data.data(), data.size()), data);
}

RequestParser::Result RequestParser::result_of(llhttp_errno_t err, std::string_view data) {
  if (err == HPE_OK) return {Event::need_more, data.size()};
  const char* stop = llhttp_get_error_pos(&parser_);
  const size_t consumed = stop ? static_cast<size_t>(stop - data.data()) : data.size();
  if (err == HPE_PAUSED) {
    llhttp_resume(&parser_);
    return {Event::request, consumed};
  }
  if (error_status_ == 0) {
    error_status_ = 400;
    error_message_ = fmt::format("malformed HTTP request: {}", llhttp_get_error_reason(&parser_));
  }
  return {Event::error, consumed};
}

int RequestParser::fail(int status, std::string message) {
  error_status_ = status;
  error_message_ = std::move(message);
  return HPE_USER;
}

bool RequestParser::count_head_bytes(size_t n) {
  head_bytes_ += n;
  return head_bytes_ <= limits_.max_header_bytes;
}

int RequestParser::on_message_begin(llhttp_t* p) {
  RequestParser& r = self(p);
  r.request_ = Request{};
  r.state_ = State::head;
  r.head_bytes_ = 0;
  r.field_complete_ = true;
  r.expects_continue_ = false;
  r.head_ready_ = false;
  return 0;
}

int RequestParser::on_method(llhttp_t* p, const char* at, size_t n) {
  RequestParser& r = self(p);
  r.request_.method_text.append(at, n);
  return r.count_head_bytes(n) ? 0 : r.fail(431, "request header fields too large");
}

int RequestParser::on_url(llhttp_t* p, const char* at, size_t n) {
  RequestParser& r = self(p);
  r.request_.target.append(at, n);
  return r.count_head_bytes(n) ? 0 : r.fail(431, "request header fields too large");
}

int RequestParser::on_header_field(llhttp_t* p, const char* at, size_t n) {
  RequestParser& r = self(p);
  if (r.field_complete_) {
    r.request_.headers.emplace_back();
    r.field_complete_ = false;
    r.count_head_bytes(4);  // ": " and CRLF: an empty header still costs bytes
  }
  r.request_.headers.back().name.append(at, n);
  return r.count_head_bytes(n) ? 0 : r.fail(431, "request header fields too large");
}

int RequestParser::on_header_value(llhttp_t* p, const char* at, size_t n) {
  RequestParser& r = self(p);
  r.request_.headers.back().value.append(at, n);
  return r.count_head_bytes(n) ? 0 : r.fail(431, "request header fields too large");
}

int RequestParser::on_header_value_complete(llhttp_t* p) {
  self(p).field_complete_ = true;
  return 0;
}

// Request smuggling: where a proxy in front of us could frame the body differently, refuse.
bool RequestParser::check_framing_headers() {
  for (const Header& header : request_.headers) {
    if (header.name.find_first_of(" \t") != std::string::npos) {
      fail(400, fmt::format("malformed HTTP request: whitespace in the header field name '{}' (none is allowed "
                            "before the colon)", header.name));
      return false;
    }
    if (iequals(header.name, "Transfer-Encoding") && !iequals(header.value, "chunked")) {
      fail(501, fmt::format("Transfer-Encoding '{}' is not supported: send the body with Content-Length or with "
                            "Transfer-Encoding: chunked alone", header.value));
      return false;
    }
  }
  return true;
}

int RequestParser::on_headers_complete(llhttp_t* p) {
  RequestParser& r = self(p);
  Request& req = r.request_;
  if (!r.check_framing_headers()) return -1;
  req.method = method_of(p->method);
  req.version_major = p->http_major;
  req.version_minor = p->http_minor;
  req.keep_alive = llhttp_should_keep_alive(p) != 0 && req.method != Method::other;
  if ((p->flags & F_CONTENT_LENGTH) && p->content_length > r.limits_.max_body_bytes) {
    r.fail(413, fmt::format("request body of {} bytes exceeds the limit of {} bytes",
                            p->content_length, r.limits_.max_body_bytes));
    return -1;
  }
  if (auto expect = req.header("Expect")) {
    if (!iequals(*expect, "100-continue")) {
      r.fail(417, fmt::format("unsupported Expect value '{}'", *expect));
      return -1;
    }
    r.expects_continue_ = req.version_minor >= 1;
  }
  r.state_ = State::body;
  r.head_ready_ = true;
  return 0;
}

// A chunk that would take the body past the limit is refused before any of it is read.
int RequestParser::on_chunk_header(llhttp_t* p) {
  RequestParser& r = self(p);
  if (p->content_length > r.limits_.max_body_bytes - r.request_.body.size()) {
    return r.fail(413, fmt::format("a chunk of {} bytes takes the request body past the limit of {} bytes",
                                   p->content_length, r.limits_.max_body_bytes));
  }
  return 0;
}

int RequestParser::on_body(llhttp_t* p, const char* at, size_t n) {
  RequestParser& r = self(p);
  if (r.request_.body.size() + n > r.limits_.max_body_bytes) {
    return r.fail(413, fmt::format("request body exceeds the limit of {} bytes",
                                   r.limits_.max_body_bytes));
  }
  r.request_.body.append(at, n);
  return 0;
}

int RequestParser::on_message_complete(llhttp_t* p) {
  RequestParser& r = self(p);
  r.state_ = State::idle;
  r.expects_continue_ = false;
  return HPE_PAUSED;
}

}  // namespace rs::io
