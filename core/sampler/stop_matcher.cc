#include "core/sampler/stop_matcher.h"

#include <algorithm>
#include <cstdint>
#include <utility>

namespace rs::sampler {
namespace {

bool starts_char(std::string_view text, size_t at) {
  return at == text.size() || (uint8_t(text[at]) & 0xC0) != 0x80;
}

// The first occurrence of `stop` that starts on a character boundary.
size_t find_on_boundary(std::string_view text, std::string_view stop) {
  size_t at = text.find(stop);
  while (at != std::string_view::npos && !starts_char(text, at)) at = text.find(stop, at + 1);
  return at;
}

// Where a character that `text` ends inside of starts; text.size() when none does.
size_t incomplete_tail(std::string_view text) {
  for (size_t back = 1; back <= std::min<size_t>(3, text.size()); ++back) {
    const uint8_t c = text[text.size() - back];
    if ((c & 0xC0) == 0x80) continue;
    const size_t length = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
    return length > back ? text.size() - back : text.size();
  }
  return text.size();
}

}  // namespace

StopMatcher::StopMatcher(std::vector<std::string> stops) : stops_(std::move(stops)) {
  std::erase_if(stops_, [](const std::string& stop) { return stop.empty(); });
  for (const std::string& stop : stops_) longest_ = std::max(longest_, stop.size());
}

StopOutput StopMatcher::push(std::string_view text) {
  if (stopped_) return {{}, true};
  held_.append(text);

  size_t match_start = std::string::npos, match_end = std::string::npos;
  for (size_t i = 0; i < stops_.size(); ++i) {
    const size_t at = find_on_boundary(held_, stops_[i]);
    if (at == std::string::npos) continue;
    const size_t end = at + stops_[i].size();
    if (end < match_end || (end == match_end && at < match_start)) {
      match_start = at;
      match_end = end;
      matched_ = i;
    }
  }
  if (match_start != std::string::npos) {
    stopped_ = true;
    held_.resize(match_start);
    return {std::exchange(held_, {}), true};
  }

  // Hold back from the earliest suffix that begins some stop string; any later
  // match must start there, since what went out could not begin one.
  size_t hold = incomplete_tail(held_);
  const size_t window = std::min(held_.size(), longest_ > 0 ? longest_ - 1 : 0);
  for (size_t at = held_.size() - window; at < held_.size(); ++at) {
    if (!starts_char(held_, at)) continue;
    const std::string_view suffix = std::string_view(held_).substr(at);
    const auto begins = [&](const std::string& stop) { return stop.starts_with(suffix); };
    if (std::any_of(stops_.begin(), stops_.end(), begins)) {
      hold = at;
      break;
    }
  }
  StopOutput out{held_.substr(0, hold), false};
  held_.erase(0, hold);
  return out;
}

std::string StopMatcher::finish() { return std::exchange(held_, {}); }

std::string_view StopMatcher::matched() const { return stopped_ ? std::string_view(stops_[matched_]) : ""; }

}  // namespace rs::sampler
