#include "perf/ringperf/clock.h"

namespace rs::ringperf {
namespace {

class SystemClock final : public Clock {
 public:
  int64_t now_ns() override { return ringperf::now_ns(); }
  int64_t thread_cpu_ns() override {
    timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);  // the loop's own thread: a test's fake server is not counted
    return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
  }
};

}  // namespace

Clock& system_clock() {
  static SystemClock clock;
  return clock;
}

}  // namespace rs::ringperf
