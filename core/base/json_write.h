#pragma once
// Minimal JSON output helpers; parsing is simdjson's job.
#include <string>
#include <string_view>

namespace rs::json {

// Appends `text` as a quoted JSON string, escaping quotes, backslashes and
// control characters. Bytes that are not valid UTF-8 become U+FFFD so the
// output is always valid JSON.
void append_string(std::string& out, std::string_view text);

std::string quote(std::string_view text);

}  // namespace rs::json
