#pragma once
// Leveled log lines to stderr, one write(2) per line so threads never interleave.
#include <fmt/format.h>

#include <string_view>
#include <utility>

namespace rs::log {

enum class Level { debug, info, warn, error };

void set_level(Level level);
bool enabled(Level level);
// Parses "debug", "info", "warn" or "error"; false for anything else.
bool parse_level(std::string_view text, Level& level);
void write(Level level, std::string_view message);

template <typename... Args>
void debug(fmt::format_string<Args...> f, Args&&... args) {
  if (enabled(Level::debug)) write(Level::debug, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void info(fmt::format_string<Args...> f, Args&&... args) {
  if (enabled(Level::info)) write(Level::info, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void warn(fmt::format_string<Args...> f, Args&&... args) {
  if (enabled(Level::warn)) write(Level::warn, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void error(fmt::format_string<Args...> f, Args&&... args) {
  if (enabled(Level::error)) write(Level::error, fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace rs::log
