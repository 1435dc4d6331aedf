#include "perf/ringperf/stream_measurement.h"

#include <simdjson.h>

#include <fmt/format.h>

#include "perf/ringperf/clock.h"

namespace rs::ringperf {
namespace {

// How much of an error response's body a record keeps.
constexpr size_t kMaxErrorBody = 2048;
constexpr size_t kMaxQuoted = 200;

std::string shortened(std::string_view text) {
  if (text.size() <= kMaxQuoted) return std::string(text);
  return fmt::format("{}…", text.substr(0, kMaxQuoted));
}

// An OpenAI error body's message ({"error":{"message":…}}), else the body itself.
std::string error_message(const std::string& body) {
  simdjson::dom::parser parser;
  std::string_view message;
  if (!parser.parse(body).at_key("error").at_key("message").get(message)) return shortened(message);
  return shortened(body);
}

}  // namespace

void StreamMeasurement::start(uint64_t sequence, int64_t issued_ns, int64_t estimated_prompt_tokens) {
  record_ = RequestRecord{};
  record_.sequence = sequence;
  record_.issued_ns = issued_ns;
  record_.prompt_tokens = estimated_prompt_tokens;
  sse_.reset();
  arrival_ns_ = last_text_ns_ = finish_ns_ = 0;
  error_body_.clear();
  done_ = keep_alive_ = saw_done_marker_ = false;
}

void StreamMeasurement::set_error(ErrorKind kind, std::string detail) {
  if (record_.error != ErrorKind::none) return;  // the first thing that went wrong is the one to report
  record_.error = kind;
  record_.error_detail = std::move(detail);
}

void StreamMeasurement::fail(ErrorKind kind, std::string detail, int64_t now_ns) {
  if (done_) return;
  set_error(kind, std::move(detail));
  if (record_.sent_ns == 0) record_.sent_ns = now_ns;
  record_.done_ns = now_ns;
  done_ = true;
  keep_alive_ = false;
}

void StreamMeasurement::on_status(int status) { record_.http_status = status; }

void StreamMeasurement::on_body(std::string_view bytes) {
  if (error_kind_for_status(record_.http_status) != ErrorKind::none) {
    error_body_.append(bytes.substr(0, kMaxErrorBody - std::min(kMaxErrorBody, error_body_.size())));
    return;
  }
  sse_.feed(bytes, [this](std::string_view data) { on_event(data); });
}

void StreamMeasurement::on_event(std::string_view data) {
  if (data == "[DONE]") {
    saw_done_marker_ = true;
    return;
  }
  const std::optional<StreamChunk> chunk = reader_.read(data);
  if (!chunk) {
    set_error(ErrorKind::malformed, fmt::format("an SSE event that is not a JSON object: {}", shortened(data)));
    return;
  }
  if (chunk->error) set_error(ErrorKind::stream_error, shortened(*chunk->error));
  if (chunk->text_bytes > 0) {
    if (record_.first_text_ns == 0) {
      record_.first_text_ns = arrival_ns_;
    } else {
      record_.itl_ms.push_back(static_cast<float>(ns_to_ms(arrival_ns_ - last_text_ns_)));
    }
    last_text_ns_ = arrival_ns_;
    ++record_.text_chunks;
  }
  if (chunk->finished && finish_ns_ == 0) finish_ns_ = arrival_ns_;
  if (chunk->completion_tokens) {
    record_.output_tokens = *chunk->completion_tokens;
    record_.usage_reported = true;
    if (chunk->prompt_tokens) record_.prompt_tokens = *chunk->prompt_tokens;
  }
}

void StreamMeasurement::on_message_complete(bool keep_alive) {
  keep_alive_ = keep_alive;
  record_.done_ns = arrival_ns_;
  done_ = true;
  if (const ErrorKind kind = error_kind_for_status(record_.http_status); kind != ErrorKind::none) {
    set_error(kind, fmt::format("HTTP {}: {}", record_.http_status, error_message(error_body_)));
    return;
  }
  sse_.finish([this](std::string_view data) { on_event(data); });
  if (record_.error != ErrorKind::none) return;
  if (record_.text_chunks == 0 && !record_.usage_reported) {
    set_error(ErrorKind::malformed, saw_done_marker_ ? "a stream with no text and no usage"
                                                     : "a response with no SSE events (is the endpoint streaming?)");
    return;
  }
  if (record_.first_text_ns == 0) record_.first_text_ns = finish_ns_ != 0 ? finish_ns_ : record_.done_ns;
  if (!record_.usage_reported) record_.output_tokens = record_.text_chunks;
}

}  // namespace rs::ringperf
