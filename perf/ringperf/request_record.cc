#include "perf/ringperf/request_record.h"

#include <limits>

#include "perf/ringperf/clock.h"

namespace rs::ringperf {
namespace {
constexpr double kUnmeasured = std::numeric_limits<double>::quiet_NaN();
}

std::string_view error_kind_name(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::none: return "none";
    case ErrorKind::connect: return "connect";
    case ErrorKind::http_429: return "http_429";
    case ErrorKind::http_4xx: return "http_4xx";
    case ErrorKind::http_5xx: return "http_5xx";
    case ErrorKind::http_other: return "http_other";
    case ErrorKind::timeout: return "timeout";
    case ErrorKind::disconnected: return "disconnected";
    case ErrorKind::malformed: return "malformed";
    case ErrorKind::stream_error: return "stream_error";
    case ErrorKind::dropped: return "dropped";
  }
  return "unknown";
}

std::string_view error_kind_meaning(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::none: return "no error";
    case ErrorKind::connect: return "could not connect";
    case ErrorKind::http_429: return "refused with 429 Too Many Requests";
    case ErrorKind::http_4xx: return "answered with another 4xx status";
    case ErrorKind::http_5xx: return "answered with a 5xx status";
    case ErrorKind::http_other: return "answered with a status that is neither success nor error";
    case ErrorKind::timeout: return "no complete response within request_timeout_seconds";
    case ErrorKind::disconnected: return "the connection closed mid-response";
    case ErrorKind::malformed: return "the response was not a well-formed OpenAI stream";
    case ErrorKind::stream_error: return "the server sent an error inside the stream";
    case ErrorKind::dropped: return "an open-loop arrival found every allowed connection busy";
  }
  return "unknown";
}

ErrorKind error_kind_for_status(int status) {
  if (status >= 200 && status < 300) return ErrorKind::none;
  if (status == 429) return ErrorKind::http_429;
  if (status >= 400 && status < 500) return ErrorKind::http_4xx;
  if (status >= 500 && status < 600) return ErrorKind::http_5xx;
  return ErrorKind::http_other;
}

double RequestRecord::ttft_ms() const {
  if (!ok() || first_text_ns == 0) return kUnmeasured;
  return ns_to_ms(first_text_ns - sent_ns);
}

double RequestRecord::e2e_ms() const { return ok() ? ns_to_ms(done_ns - sent_ns) : kUnmeasured; }

double RequestRecord::tpot_ms() const {
  if (!ok() || first_text_ns == 0 || output_tokens < 2) return kUnmeasured;
  return ns_to_ms(done_ns - first_text_ns) / static_cast<double>(output_tokens - 1);
}

double RequestRecord::ntpot_ms() const {
  if (!ok() || output_tokens < 1) return kUnmeasured;
  return e2e_ms() / static_cast<double>(output_tokens);
}

}  // namespace rs::ringperf
