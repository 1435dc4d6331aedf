#pragma once
// Python's str methods on UTF-8 text: Python counts, indexes and strips code
// points, and its idea of whitespace is Unicode's. Case mapping covers Latin,
// Greek and Cyrillic letters.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rs::jinja::py {

// Decodes the code point at `pos` and moves past it (U+FFFD for a malformed byte).
char32_t next_code_point(std::string_view text, size_t& pos);
// Whether text[start, end), just read by next_code_point, is a malformed byte. The functions that rebuild text
// code point by code point (case mapping, repr, tojson) keep such a byte as it is: chat prompts' guard marks
// (0xFF, guard_marks.h) must pass through them.
bool is_malformed_byte(std::string_view text, size_t start, size_t end);
void append_utf8(std::string& out, char32_t code_point);
bool is_valid_utf8(std::string_view text);

// The text split into its code points, each a view into `text`.
std::vector<std::string_view> code_points(std::string_view text);
size_t length(std::string_view text);  // in code points

bool is_space(char32_t code_point);  // str.isspace()

// str.strip / lstrip / rstrip: whitespace, or any code point of `chars` when given.
std::string_view strip(std::string_view text, const std::optional<std::string_view>& chars = std::nullopt,
                       bool left = true, bool right = true);
// str.split / rsplit: on runs of whitespace without `separator`; at most `max_splits` splits when >= 0.
std::vector<std::string> split(std::string_view text, const std::optional<std::string_view>& separator,
                               long max_splits = -1, bool from_right = false);
std::vector<std::string> split_lines(std::string_view text, bool keep_ends = false);
// str.replace: an empty `old` inserts `replacement` around every code point, as Python does.
std::string replace(std::string_view text, std::string_view old, std::string_view replacement, long count = -1);
size_t count(std::string_view text, std::string_view needle);
// str.find / rfind, in code points; -1 when absent.
long find(std::string_view text, std::string_view needle, bool from_right = false);

std::string upper(std::string_view text);
std::string lower(std::string_view text);
std::string capitalize(std::string_view text);  // str.capitalize
std::string title(std::string_view text);       // str.title
std::string swapcase(std::string_view text);

// Python's repr() of a str: single quotes unless the text holds ' and no ".
std::string repr(std::string_view text);

}  // namespace rs::jinja::py
