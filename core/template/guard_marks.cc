#include "core/template/guard_marks.h"

#include <algorithm>

#include "core/template/python_string.h"

namespace rs::chat {
namespace {

char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c; }

// ASCII case aside: a template may lower() or upper() the client's text into a special token's.
bool same_but_for_case(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [](char x, char y) { return ascii_lower(x) == ascii_lower(y); });
}

size_t code_point_size(std::string_view text, size_t at) {
  size_t next = at;
  jinja::py::next_code_point(text, next);
  return next - at;
}

}  // namespace

ForgeableTexts::ForgeableTexts(std::span<const std::string_view> texts) {
  for (const std::string_view text : texts) {
    if (!text.empty()) starting_with_[uint8_t(ascii_lower(text.front()))].push_back(text);
  }
}

std::string ForgeableTexts::marked_text(std::string_view text) const {
  std::vector<bool> guarded(text.size(), false);
  for (size_t at = 0; at < text.size(); ++at) {
    for (const std::string_view forgeable : starting_with_[uint8_t(ascii_lower(text[at]))]) {
      // A whole spelling, or its start cut off by the end of `text`.
      const size_t spelled = std::min(forgeable.size(), text.size() - at);
      if (!same_but_for_case(text.substr(at, spelled), forgeable.substr(0, spelled))) continue;
      const size_t first = code_point_size(text, at);
      guarded[spelled > first ? at + first : at] = true;
    }
  }
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (guarded[i]) out += kGuardMark;
    out += text[i];
  }
  return out;
}

jinja::Value ForgeableTexts::marked(const jinja::Value& value) const {
  if (value.is_string()) {
    std::string text = marked_text(value.as_string());
    return text.size() == value.as_string().size() ? value : jinja::Value(std::move(text));
  }
  if (value.is_object()) {
    jinja::Object object;
    for (const auto& [key, item] : value.as_object()) object.set(marked_text(key), marked(item));
    return jinja::Value(std::move(object));
  }
  if (value.is_array()) {  // client values come from JSON: lists, never tuples
    jinja::Array items;
    for (const jinja::Value& item : value.as_array()) items.push_back(marked(item));
    return jinja::Value(std::move(items));
  }
  return value;
}

GuardedText take_guard_marks(std::string_view marked) {
  GuardedText out;
  out.text.reserve(marked.size());
  for (size_t at = 0;;) {
    const size_t mark = marked.find(kGuardMark, at);
    out.text.append(marked.substr(at, mark - at));  // to the end when no mark is left
    if (mark == std::string_view::npos) return out;
    if (out.guards.empty() || out.guards.back() != out.text.size()) out.guards.push_back(out.text.size());
    at = mark + 1;
  }
}

}  // namespace rs::chat
