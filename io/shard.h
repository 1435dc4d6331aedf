#pragma once
// One reactor: a thread pinned to a core with its own io_uring (or epoll, where
// io_uring is refused), its own listening socket and the connections the kernel
// gives it. Nothing here is shared with other shards; other threads reach a
// shard only through post().
#include <atomic>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "io/connection_owner.h"
#include "io/connection.h"
#include "io/http_metrics.h"
#include "core/base/mpsc_queue.h"
#include "io/output_budget.h"
#include "io/router.h"
#include "io/server_config.h"
#include "io/socket_driver.h"

namespace rs::io {

class Shard final : public ConnectionOwner {
 public:
  // Takes ownership of `listen_fd`. `cpu` < 0: not pinned. `budget` is shared by every shard. `backend`
  // is resolved (not automatic).
  Shard(int index, const ServerConfig& config, const Router& router, OutputBudget& budget, int listen_fd, int cpu,
        IoBackend backend);
  ~Shard();
  Shard(const Shard&) = delete;
  Shard& operator=(const Shard&) = delete;

  // Starts the thread; returns once its ring (or epoll set) is up. Throws on failure.
  void start();
  void join();

  // Any thread: run `task` on this shard's thread soon. Lock-free.
  void post(Task task) override;
  // Any thread: stop accepting, let in-flight requests finish (up to
  // drain_timeout), then exit the thread.
  void drain();
  // Any thread: close every connection now and exit the thread.
  void stop();

  int index() const override { return index_; }
  const HttpMetrics& metrics() const { return metrics_; }

  // Shard thread only.
  Connection* connection(uint64_t id) override;
  void schedule(uint64_t connection_id) override;  // send / close / re-arm after this loop turn

 private:
  struct Link;

  void run(std::promise<void>& started);
  void arm_accept();
  void arm_wake();
  void arm_tick();
  void arm_recv(Link& link);
  void arm_send(Link& link);
  void on_completion(const Completion& completion);
  void on_accept(const Completion& completion);
  void on_wake();
  void on_tick();
  void on_recv(Link& link, const Completion& completion);
  void on_send(Link& link, const Completion& completion);
  void open_link(int fd);
  void service(Link& link);
  void service_scheduled();
  void close_link(Link& link);
  void release(Link& link);
  void dispatch(Connection& connection, Exchange& exchange);
  void answer_options(Connection& connection, Exchange& exchange, const Router::Match& match);
  bool reclaim_idle_keep_alive();
  void close_longest_stalled();
  void begin_drain();
  void cut_in_flight();
  void close_all();

  const int index_;
  const ServerConfig& config_;
  const Router& router_;
  OutputBudget& budget_;
  int listen_fd_;
  const int cpu_;
  const IoBackend backend_;
  int wake_fd_;
  std::thread thread_;

  std::unique_ptr<SocketDriver> driver_;
  std::unordered_map<uint64_t, std::unique_ptr<Link>> links_;
  std::vector<uint64_t> scheduled_;
  uint64_t next_connection_id_ = 1;
  HttpMetrics metrics_;
  Clock::time_point now_ = Clock::now();  // read once per loop turn, at its first completion
  bool clock_stale_ = true;
  std::string date_;
  long date_second_ = 0;
  uint64_t wake_value_ = 0;
  bool accepting_ = false;
  bool draining_ = false;
  bool cut_ = false;  // past the drain deadline: responses were ended, connections close once flushed
  bool exit_ = false;
  uint64_t budget_refusals_seen_ = 0;
  Clock::time_point drain_deadline_{};
  Clock::time_point last_overload_log_{};

  MpscQueue<Task> tasks_;
  std::atomic<bool> wake_pending_{false};
};

}  // namespace rs::io
