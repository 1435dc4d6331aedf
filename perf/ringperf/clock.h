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

inline constexpr int64_t kNsPerMs = 1'000'000;

constexpr int64_t seconds_to_ns(double seconds) { return static_cast<int64_t>(seconds * 1e9); }
constexpr double ns_to_ms(int64_t ns) { return static_cast<double>(ns) / 1e6; }
constexpr double ns_to_seconds(int64_t ns) { return static_cast<double>(ns) / 1e9; }

// Where the load generator reads the time and its own CPU time: system_clock()
// in a run, a scripted clock in tests (so they can assert exact figures).
class Clock {
 public:
  virtual ~Clock() = default;
  // Monotonic nanoseconds. The load generator arms its CLOCK_MONOTONIC timer
  // with these readings, so a clock whose readings lie in the past never lets
  // the loop sleep.
  virtual int64_t now_ns() = 0;
  // The calling thread's CPU time in nanoseconds.
  virtual int64_t thread_cpu_ns() = 0;
};

// now_ns() and CLOCK_THREAD_CPUTIME_ID.
Clock& system_clock();

}  // namespace rs::ringperf
