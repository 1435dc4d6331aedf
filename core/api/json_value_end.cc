#include "core/api/json_value_end.h"

namespace rs::api {
namespace {

// The bytes of numbers and of true, false and null.
bool scalar_byte(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' || c == '+' ||
         c == '.';
}

}  // namespace

size_t JsonValueEnd::feed(std::string_view text) {
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    switch (state_) {
      case State::start:
        if (c == '{' || c == '[') {
          state_ = State::nested;
          depth_ = 1;
        } else if (c == '"') {
          state_ = State::nested;  // a string at depth 0: it ends at its closing quote
          in_string_ = true;
        } else if (c == '-' || (c >= '0' && c <= '9') || c == 't' || c == 'f' || c == 'n') {
          state_ = State::scalar;
        } else {
          state_ = State::invalid;
          return i;
        }
        break;
      case State::scalar:
        if (!scalar_byte(c)) {
          state_ = State::done;
          return i;  // the delimiter is not the value's
        }
        break;
      case State::nested:
        if (in_string_) {
          if (escaped_) {
            escaped_ = false;
          } else if (c == '\\') {
            escaped_ = true;
          } else if (c == '"') {
            in_string_ = false;
          }
        } else if (c == '"') {
          in_string_ = true;
        } else if (c == '{' || c == '[') {
          ++depth_;
        } else if (c == '}' || c == ']') {
          if (depth_ > 0) --depth_;
        }
        if (!in_string_ && depth_ == 0) {
          state_ = State::done;
          return i + 1;
        }
        break;
      case State::done:
      case State::invalid:
        return i;
    }
  }
  return text.size();
}

void JsonValueEnd::end_of_text() {
  if (state_ == State::scalar) state_ = State::done;
}

}  // namespace rs::api
