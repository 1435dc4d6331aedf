#pragma once
// Server-Sent Events framing, as the WHATWG spec reads it: lines end in \n,
// \r\n or \r; "data:" lines accumulate (joined by \n); an empty line ends the
// event; comments (":…") and other fields are skipped. Bytes may arrive split
// anywhere, a line ending included.
#include <functional>
#include <string>
#include <string_view>

namespace rs::ringperf {

class SseParser {
 public:
  using EventHandler = std::function<void(std::string_view data)>;

  // Calls on_event with the data of every event that `bytes` completes.
  void feed(std::string_view bytes, const EventHandler& on_event);
  // At the end of the body: hands over an event that lacked its final empty
  // line (servers that close right after "data: [DONE]\n" exist).
  void finish(const EventHandler& on_event);
  void reset();

 private:
  void take_line(const EventHandler& on_event);

  std::string line_;
  std::string data_;
  bool has_data_ = false;
  bool after_cr_ = false;  // the last byte was \r: a \n next belongs to the same line ending
};

}  // namespace rs::ringperf
