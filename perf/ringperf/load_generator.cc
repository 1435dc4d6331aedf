#include "perf/ringperf/load_generator.h"

#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <deque>
#include <limits>
#include <stdexcept>

#include <fmt/format.h>

#include "perf/ringperf/clock.h"
#include "perf/ringperf/connection.h"
#include "perf/ringperf/poisson_arrivals.h"

namespace rs::ringperf {
namespace {

constexpr int64_t kNever = std::numeric_limits<int64_t>::max();
// Housekeeping (timeouts, progress) runs this often.
constexpr int64_t kTickNs = 100'000'000;
// A closed-loop user whose request failed waits this long before the next,
// so a server that refuses at once is not spun against at full speed.
constexpr int64_t kRetryPauseNs = 50'000'000;

std::atomic<bool> interrupt_requested{false};

}  // namespace

// The state of one point's run.
class LoadGenerator::PointRun {
 public:
  PointRun(LoadGenerator& generator, const PointPlan& plan, Workload& workload, const ProgressCallback& progress)
      : generator_(generator),
        clock_(generator.clock_),
        plan_(plan),
        workload_(workload),
        progress_(progress),
        arrivals_(plan.shape == LoadShape::poisson ? plan.rate : 1.0, plan.arrival_seed) {}

  PointMeasurements run();

 private:
  Connection& new_connection();
  void issue(Connection& connection, int64_t issued_ns, int64_t now_ns);
  void on_finished(Connection& connection, int64_t now_ns);
  void record(RequestRecord record, int64_t now_ns);
  void arrive(int64_t arrival_ns, int64_t now_ns);
  void housekeeping(int64_t now_ns);
  void count_in_flight(int64_t now_ns, int delta);
  void arm_timer(int64_t deadline_ns);
  double client_cpu(int64_t now_ns) const;

  LoadGenerator& generator_;
  Clock& clock_;
  const PointPlan& plan_;
  Workload& workload_;
  const ProgressCallback& progress_;
  StreamChunkReader reader_;
  PoissonArrivals arrivals_;

  std::vector<std::unique_ptr<Connection>> connections_;  // closed loop: one per user, index = user
  std::vector<Connection*> idle_;                         // poisson: connections free for the next arrival
  std::deque<std::pair<int64_t, size_t>> retries_;        // closed loop: (when, user), in time order
  uint64_t next_sequence_ = 0;

  int64_t start_ns_ = 0;
  int64_t window_start_ns_ = 0;
  int64_t window_end_ns_ = kNever;
  bool window_open_ = false;
  int64_t cpu_at_window_start_ = 0;
  int64_t next_arrival_ns_ = kNever;
  int64_t next_tick_ns_ = 0;
  int64_t armed_ns_ = -1;

  int64_t in_flight_ = 0;
  int64_t in_flight_since_ns_ = 0;
  double in_flight_integral_ = 0;  // request-nanoseconds inside the window
  PointMeasurements result_;
};

LoadGenerator::LoadGenerator(ServerUrl server, RequestOptions options, Clock& clock)
    : server_(std::move(server)), options_(std::move(options)), clock_(clock) {
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  timer_fd_ = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (epoll_fd_ < 0 || timer_fd_ < 0) throw std::runtime_error(fmt::format("epoll/timerfd: {}", std::strerror(errno)));
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.ptr = nullptr;  // the timer: connections carry their own pointer
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, timer_fd_, &event);
}

LoadGenerator::~LoadGenerator() {
  ::close(timer_fd_);
  ::close(epoll_fd_);
}

void LoadGenerator::interrupt() { interrupt_requested.store(true, std::memory_order_relaxed); }
bool LoadGenerator::interrupted() { return interrupt_requested.load(std::memory_order_relaxed); }

PointMeasurements LoadGenerator::run(const PointPlan& plan, Workload& workload, const ProgressCallback& progress) {
  return PointRun(*this, plan, workload, progress).run();
}

Connection& LoadGenerator::PointRun::new_connection() {
  connections_.push_back(
      std::make_unique<Connection>(generator_.server_, generator_.epoll_fd_, reader_, connections_.size()));
  return *connections_.back();
}

void LoadGenerator::PointRun::issue(Connection& connection, int64_t issued_ns, int64_t now_ns) {
  const RequestSpec spec = workload_.next();
  const std::string body = build_request_body(generator_.options_, spec);
  std::string request =
      build_http_request(generator_.server_, "POST", generator_.server_.path(api_path(generator_.options_.endpoint)),
                         body, generator_.options_.api_key);
  count_in_flight(now_ns, +1);
  connection.begin(next_sequence_++, issued_ns, spec.estimated_prompt_tokens, std::move(request), now_ns);
  if (connection.finished()) on_finished(connection, now_ns);  // a connect that failed at once
}

void LoadGenerator::PointRun::on_finished(Connection& connection, int64_t now_ns) {
  RequestRecord finished = connection.take_record();
  count_in_flight(now_ns, -1);
  const bool ok = finished.ok();
  record(std::move(finished), now_ns);
  if (plan_.shape == LoadShape::poisson) {
    idle_.push_back(&connection);
  } else if (now_ns < window_end_ns_) {
    if (ok)
      issue(connection, now_ns, now_ns);
    else
      retries_.emplace_back(now_ns + kRetryPauseNs, connection.slot());
  }
}

void LoadGenerator::PointRun::record(RequestRecord record, int64_t now_ns) {
  if (now_ns < window_start_ns_ || now_ns >= window_end_ns_) return;
  result_.requests.push_back(std::move(record));
  if (plan_.requests > 0 && static_cast<int64_t>(result_.requests.size()) >= plan_.requests) {
    window_end_ns_ = now_ns;  // the count is reached: the window closes here
  }
}

void LoadGenerator::PointRun::arrive(int64_t arrival_ns, int64_t now_ns) {
  Connection* connection = nullptr;
  if (!idle_.empty()) {
    connection = idle_.back();
    idle_.pop_back();
  } else if (static_cast<int>(connections_.size()) < plan_.max_connections) {
    connection = &new_connection();
  }
  if (connection != nullptr) return issue(*connection, arrival_ns, now_ns);
  RequestRecord dropped;
  dropped.sequence = next_sequence_++;
  dropped.issued_ns = dropped.sent_ns = dropped.done_ns = now_ns;
  dropped.error = ErrorKind::dropped;
  dropped.error_detail = fmt::format("all {} connections busy (load.max_connections)", plan_.max_connections);
  record(std::move(dropped), now_ns);
}

void LoadGenerator::PointRun::count_in_flight(int64_t now_ns, int delta) {
  const int64_t from = std::max(in_flight_since_ns_, window_start_ns_);
  const int64_t to = std::min(now_ns, window_end_ns_);
  if (to > from) in_flight_integral_ += static_cast<double>(in_flight_) * static_cast<double>(to - from);
  in_flight_since_ns_ = now_ns;
  in_flight_ += delta;
  if (window_open_) result_.max_in_flight = std::max(result_.max_in_flight, in_flight_);
}

double LoadGenerator::PointRun::client_cpu(int64_t now_ns) const {
  if (!window_open_ || now_ns <= window_start_ns_) return 0;
  const int64_t cpu_ns = clock_.thread_cpu_ns() - cpu_at_window_start_;
  return static_cast<double>(cpu_ns) / static_cast<double>(now_ns - window_start_ns_);
}

void LoadGenerator::PointRun::housekeeping(int64_t now_ns) {
  const int64_t timeout_ns = seconds_to_ns(plan_.request_timeout_s);
  for (const auto& connection : connections_) {
    if (connection->busy() && !connection->finished() && now_ns - connection->issued_ns() >= timeout_ns) {
      connection->time_out(now_ns, plan_.request_timeout_s);
      on_finished(*connection, now_ns);
    }
  }
  if (progress_) {
    progress_(PointProgress{plan_, ns_to_seconds(now_ns - start_ns_), !window_open_, result_.requests, in_flight_,
                            client_cpu(now_ns)});
  }
  next_tick_ns_ = now_ns + kTickNs;
}

void LoadGenerator::PointRun::arm_timer(int64_t deadline_ns) {
  if (deadline_ns == armed_ns_) return;
  itimerspec spec{};
  spec.it_value.tv_sec = deadline_ns / 1'000'000'000;
  spec.it_value.tv_nsec = deadline_ns % 1'000'000'000;
  timerfd_settime(generator_.timer_fd_, TFD_TIMER_ABSTIME, &spec, nullptr);
  armed_ns_ = deadline_ns;
}

PointMeasurements LoadGenerator::PointRun::run() {
  start_ns_ = clock_.now_ns();
  window_start_ns_ = start_ns_ + seconds_to_ns(plan_.warmup_s);
  result_.window_start_ns = window_start_ns_;
  if (plan_.duration_s > 0) window_end_ns_ = window_start_ns_ + seconds_to_ns(plan_.duration_s);
  in_flight_since_ns_ = start_ns_;
  next_tick_ns_ = start_ns_;

  if (plan_.shape == LoadShape::closed) {
    for (int user = 0; user < plan_.concurrency; ++user) new_connection();
    for (const auto& connection : connections_) issue(*connection, start_ns_, start_ns_);
  } else {
    next_arrival_ns_ = start_ns_ + arrivals_.next_gap_ns();
  }

  std::array<epoll_event, 256> events;
  while (true) {
    int64_t now = clock_.now_ns();
    if (!window_open_ && now >= window_start_ns_) {
      window_open_ = true;
      cpu_at_window_start_ = clock_.thread_cpu_ns();
      result_.max_in_flight = in_flight_;
    }
    if (interrupted()) window_end_ns_ = std::min(window_end_ns_, now);
    if (now >= window_end_ns_) break;
    while (next_arrival_ns_ <= now) {
      arrive(next_arrival_ns_, now);
      next_arrival_ns_ += arrivals_.next_gap_ns();
    }
    while (!retries_.empty() && retries_.front().first <= now) {
      issue(*connections_[retries_.front().second], now, now);
      retries_.pop_front();
    }
    if (now >= next_tick_ns_) housekeeping(now);
    if (now >= window_end_ns_) break;

    int64_t deadline = std::min({next_tick_ns_, next_arrival_ns_, window_end_ns_});
    if (!window_open_) deadline = std::min(deadline, window_start_ns_);
    if (!retries_.empty()) deadline = std::min(deadline, retries_.front().first);
    arm_timer(deadline);

    const int n = epoll_wait(generator_.epoll_fd_, events.data(), static_cast<int>(events.size()), -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error(fmt::format("epoll_wait: {}", std::strerror(errno)));
    }
    now = clock_.now_ns();  // the arrival time of everything this wake-up reports
    for (int i = 0; i < n; ++i) {
      if (events[i].data.ptr == nullptr) {
        uint64_t expirations;
        while (read(generator_.timer_fd_, &expirations, sizeof expirations) > 0) {
        }
        armed_ns_ = -1;
        continue;
      }
      Connection& connection = *static_cast<Connection*>(events[i].data.ptr);
      if (!connection.busy()) {
        connection.on_events(events[i].events, now);  // an idle connection closed by the server
        continue;
      }
      connection.on_events(events[i].events, now);
      if (connection.finished()) on_finished(connection, now);
    }
  }

  const int64_t end = std::min(clock_.now_ns(), window_end_ns_);
  count_in_flight(end, 0);
  result_.window_s = ns_to_seconds(end - window_start_ns_);
  result_.mean_in_flight = result_.window_s > 0 ? in_flight_integral_ / 1e9 / result_.window_s : 0;
  result_.client_cpu = client_cpu(end);
  for (const auto& connection : connections_) {
    if (connection->busy()) ++result_.unfinished;
    connection->close();
  }
  return std::move(result_);
}

}  // namespace rs::ringperf
