#include "io/http_response.h"

#include <fmt/format.h>

#include <charconv>
#include <ctime>

#include "core/base/json_write.h"

namespace rs::io {

std::string_view Bytes::view() const {
  struct Visitor {
    std::string_view operator()(const std::string& s) const { return s; }
    std::string_view operator()(std::string_view s) const { return s; }
    std::string_view operator()(const std::shared_ptr<const std::string>& s) const {
      return s ? std::string_view(*s) : std::string_view{};
    }
  };
  return std::visit(Visitor{}, data_);
}

std::string_view reason_phrase(int status) {
  switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 417: return "Expectation Failed";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return status < 400 ? "OK" : status < 500 ? "Client Error" : "Server Error";
  }
}

namespace {

// Error types as OpenAI-compatible servers (OpenAI, llama.cpp's server) name them.
std::string_view error_type(int status) {
  switch (status) {
    case 401: return "authentication_error";
    case 403: return "permission_error";
    case 404: return "not_found_error";
    case 408: return "timeout_error";
    case 429: return "rate_limit_error";
    case 501: return "not_supported_error";
    case 503: return "unavailable_error";
    default: return status >= 500 ? "server_error" : "invalid_request_error";
  }
}

}  // namespace

std::string error_body(int status, std::string_view message, std::string_view param) {
  std::string body = R"({"error":{"message":)";
  json::append_string(body, message);
  body.append(R"(,"type":")").append(error_type(status)).append(R"(","param":)");
  if (param.empty()) {
    body.append("null");
  } else {
    json::append_string(body, param);
  }
  fmt::format_to(std::back_inserter(body), R"(,"code":{}}}}})", status);
  body.push_back('\n');
  return body;
}

Response error_response(int status, std::string_view message, std::string_view param) {
  Response r;
  r.status = status;
  r.body = error_body(status, message, param);
  return r;
}

// Every response pays for this: plain appends, no format-string parsing.
std::string format_head(const HeadFields& f) {
  const std::string_view reason = reason_phrase(f.status);
  char status[4] = {char('0' + f.status / 100 % 10), char('0' + f.status / 10 % 10),
                    char('0' + f.status % 10), ' '};
  char length[24];
  const auto length_end = std::to_chars(length, length + sizeof length, f.content_length).ptr;
  std::string head;
  head.reserve(128 + f.content_type.size());
  head.append("HTTP/1.1 ").append(status, 4).append(reason);
  head.append("\r\nServer: ringserve\r\nDate: ").append(f.date).append("\r\n");
  if (!f.content_type.empty()) head.append("Content-Type: ").append(f.content_type).append("\r\n");
  switch (f.framing) {
    case Framing::content_length:
      if (f.status == 204) break;  // RFC 9110: a 204 never carries Content-Length
      head.append("Content-Length: ").append(length, length_end).append("\r\n");
      break;
    case Framing::chunked: head.append("Transfer-Encoding: chunked\r\n"); break;
    case Framing::until_close: break;
  }
  if (!f.keep_alive) head.append("Connection: close\r\n");
  if (f.headers) {
    for (const Header& h : *f.headers) head.append(h.name).append(": ").append(h.value).append("\r\n");
  }
  head.append("\r\n");
  return head;
}

std::string chunk_prefix(size_t size) { return fmt::format("{:x}\r\n", size); }

std::string sse_event(std::string_view data) {
  std::string event;
  event.reserve(data.size() + 8);
  size_t start = 0;
  while (true) {
    const size_t nl = data.find('\n', start);
    event.append("data: ").append(data.substr(start, nl - start)).push_back('\n');
    if (nl == std::string_view::npos) break;
    start = nl + 1;
  }
  event.push_back('\n');
  return event;
}

std::string http_date(long unix_seconds) {
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const std::time_t t = unix_seconds;
  std::tm utc{};
  gmtime_r(&t, &utc);
  return fmt::format("{}, {:02} {} {} {:02}:{:02}:{:02} GMT", kDays[utc.tm_wday], utc.tm_mday,
                     kMonths[utc.tm_mon], utc.tm_year + 1900, utc.tm_hour, utc.tm_min, utc.tm_sec);
}

}  // namespace rs::io
