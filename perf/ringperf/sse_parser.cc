#include "perf/ringperf/sse_parser.h"

namespace rs::ringperf {

void SseParser::reset() {
  line_.clear();
  data_.clear();
  has_data_ = false;
  after_cr_ = false;
}

void SseParser::feed(std::string_view bytes, const EventHandler& on_event) {
  while (!bytes.empty()) {
    if (after_cr_ && bytes.front() == '\n') bytes.remove_prefix(1);
    after_cr_ = false;
    const size_t end = bytes.find_first_of("\r\n");
    if (end == std::string_view::npos) {
      line_.append(bytes);
      return;
    }
    line_.append(bytes.substr(0, end));
    after_cr_ = bytes[end] == '\r';
    bytes.remove_prefix(end + 1);
    take_line(on_event);
  }
}

void SseParser::take_line(const EventHandler& on_event) {
  const std::string_view line = line_;
  if (line.empty()) {
    if (has_data_) on_event(data_);
    data_.clear();
    has_data_ = false;
  } else if (line.front() != ':') {
    const size_t colon = line.find(':');
    const std::string_view field = line.substr(0, colon);
    std::string_view value = colon == std::string_view::npos ? std::string_view{} : line.substr(colon + 1);
    if (value.starts_with(' ')) value.remove_prefix(1);
    if (field == "data") {
      if (has_data_) data_ += '\n';
      data_.append(value);
      has_data_ = true;
    }
  }
  line_.clear();
}

void SseParser::finish(const EventHandler& on_event) {
  if (!line_.empty()) take_line(on_event);
  if (has_data_) on_event(data_);
  reset();
}

}  // namespace rs::ringperf
