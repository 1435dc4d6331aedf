#include "core/base/log.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <ctime>

namespace rs::log {
namespace {

std::atomic<Level> g_level{Level::info};

constexpr std::string_view kNames[] = {"DEBUG", "INFO ", "WARN ", "ERROR"};

}  // namespace

void set_level(Level level) { g_level.store(level, std::memory_order_relaxed); }

bool enabled(Level level) { return level >= g_level.load(std::memory_order_relaxed); }

bool parse_level(std::string_view text, Level& level) {
  if (text == "debug") level = Level::debug;
  else if (text == "info") level = Level::info;
  else if (text == "warn") level = Level::warn;
  else if (text == "error") level = Level::error;
  else return false;
  return true;
}

void write(Level level, std::string_view message) {
  using namespace std::chrono;
  const auto now = system_clock::now();
  const std::time_t seconds = system_clock::to_time_t(now);
  const auto millis = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  fmt::memory_buffer line;
  fmt::format_to(std::back_inserter(line), "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z {} {}\n",
                 utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min,
                 utc.tm_sec, millis, kNames[static_cast<int>(level)], message);
  const char* data = line.data();
  size_t left = line.size();
  while (left > 0) {
    const ssize_t n = ::write(STDERR_FILENO, data, left);
    if (n <= 0) return;  // stderr gone: nothing sensible left to do with a log line
    data += n;
    left -= static_cast<size_t>(n);
  }
}

}  // namespace rs::log
