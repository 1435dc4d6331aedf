#pragma once
// Where one JSON value ends, in text that arrives in pieces: nesting and
// strings are followed, nothing else is checked (the value is parsed once it
// is whole). Tool call readers use it to know when a call's JSON is complete.
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace rs::api {

// JSON's whitespace between tokens (RFC 8259): space, tab, line feed, carriage return.
inline bool is_json_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

class JsonValueEnd {
 public:
  // Reads `text`, the value's next bytes (its first byte must start it: no whitespace before), and returns how
  // many belong to the value: all of them, or fewer when it ends inside `text` or cannot start.
  size_t feed(std::string_view text);
  // The value is known to end where the text ended: a number or literal that nothing followed.
  void end_of_text();

  bool done() const { return state_ == State::done; }
  bool invalid() const { return state_ == State::invalid; }  // its first byte starts no JSON value

 private:
  enum class State { start, scalar, nested, done, invalid };
  State state_ = State::start;
  uint32_t depth_ = 0;  // objects and arrays open
  bool in_string_ = false;
  bool escaped_ = false;  // the byte before was a backslash inside a string
};

}  // namespace rs::api
