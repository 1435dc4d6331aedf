#pragma once
// Runs one sweep point against the server from a single thread: an epoll
// loop over non-blocking keep-alive connections (one request at a time on
// each), a timerfd for arrivals, the window's edges and housekeeping.
//
// What a point measures: the requests that *finish* inside the window
// [warm-up end, warm-up end + duration) (or until `requests` have finished),
// whenever they started. Throughput is their tokens over the window. Requests
// still in flight when the window closes are abandoned (their connections
// closed, so the server cancels them) and counted as unfinished.
#include <functional>
#include <memory>
#include <vector>

#include "perf/ringperf/clock.h"
#include "perf/ringperf/load_plan.h"
#include "perf/ringperf/request_builder.h"
#include "perf/ringperf/request_record.h"
#include "perf/ringperf/server_url.h"
#include "perf/ringperf/workload.h"

namespace rs::ringperf {

// What the progress line shows, several times a second.
struct PointProgress {
  const PointPlan& plan;
  double elapsed_s = 0;  // since the point started, warm-up included
  bool warming_up = true;
  const std::vector<RequestRecord>& measured;
  int64_t in_flight = 0;
  double client_cpu = 0;  // so far in the window
};
using ProgressCallback = std::function<void(const PointProgress&)>;

class LoadGenerator {
 public:
  // Every timestamp, window edge and CPU figure is read from `clock`.
  LoadGenerator(ServerUrl server, RequestOptions options, Clock& clock = system_clock());
  ~LoadGenerator();
  LoadGenerator(const LoadGenerator&) = delete;
  LoadGenerator& operator=(const LoadGenerator&) = delete;

  // Runs `plan` with requests from `workload` (not restarted here).
  PointMeasurements run(const PointPlan& plan, Workload& workload, const ProgressCallback& progress = {});

  // Ends the running point's window now and every later run at once; safe in
  // a signal handler (Ctrl-C keeps what was measured).
  static void interrupt();
  static bool interrupted();

 private:
  class PointRun;

  ServerUrl server_;
  RequestOptions options_;
  Clock& clock_;
  int epoll_fd_ = -1;
  int timer_fd_ = -1;
};

}  // namespace rs::ringperf
