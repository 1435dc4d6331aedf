#pragma once
// The one clock every ringperf timestamp comes from: monotonic, in nanoseconds.
#include <time.h>

#include <cstdint>

namespace rs::ringperf {

inline int64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

constexpr int64_t seconds_to_ns(double seconds) { return static_cast<int64_t>(seconds * 1e9); }
constexpr double ns_to_ms(int64_t ns) { return static_cast<double>(ns) / 1e6; }
constexpr double ns_to_seconds(int64_t ns) { return static_cast<double>(ns) / 1e9; }

}  // namespace rs::ringperf
