#pragma once
// The engine thread of DESIGN.md: it owns the scheduler and the executor,
// takes requests and cancellations from any thread through a lock-free inbox,
// runs steps while there is work and sleeps when there is none, and hands
// each step's token events to the sinks their requests named.
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <thread>
#include <unordered_map>
#include <vector>

#include "core/engine/engine_metrics.h"
#include "core/engine/scheduler.h"
#include "core/base/mpsc_queue.h"

namespace rs::engine {

// Where a request's events go. deliver() runs on the engine thread, once per
// step for each sink that has events, with all of them: the sink forwards them
// to its own thread (a shard's task queue) and returns.
class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual void deliver(std::vector<TokenEvent> events) = 0;
  // The request could not be run: no event follows for it. `engine_fault`:
  // a step failed, else the request itself can never fit (Scheduler::add).
  virtual void reject(uint64_t request, std::string message, bool engine_fault) = 0;
};

class Engine {
 public:
  // Starts the thread. `executor` and every sink must outlive the engine.
  Engine(Executor& executor, const SchedulerLimits& limits, std::vector<TokenId> end_of_generation,
         PrefixCaching prefix_caching = {});
  ~Engine();  // stops the thread; requests still held get no more events
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Any thread, lock-free.
  void submit(GenerationRequest request, EventSink& sink, Clock::time_point arrival = Clock::now());
  // Drops a request whose client is gone.
  void cancel(uint64_t request);
  // Ends a request that has all it needs, a stop string having matched on its shard: its latency counts.
  void finish(uint64_t request);

  // Runs `request` to its end on the calling thread's behalf and waits: the
  // warm-up step /ready waits for. Returns its tokens. Left out of the request metrics.
  std::vector<TokenId> generate(GenerationRequest request);

  // Runs `work` on the engine thread between two steps and waits for it: what reads or fills the KV cache
  // from outside (a prefix-cache snapshot). Exceptions reach the caller.
  void between_steps(std::function<void(Scheduler&)> work);

  const EngineMetrics& metrics() const { return metrics_; }

 private:
  struct Command {
    enum Kind { submit, cancel, finish, run, stop } kind = submit;
    GenerationRequest request;
    std::function<void()> work;  // run: between two steps
    EventSink* sink = nullptr;
    Clock::time_point arrival;
    bool measured = true;  // counted in the request metrics (the warm-up is not)
  };
  struct Tracked {
    EventSink* sink;
    Clock::time_point arrival;
    Clock::time_point last_token;
    bool measured = true;
    bool started = false;  // a token has been sent
  };

  void push(Command command);
  void end(uint64_t request, Clock::time_point now);  // a request's last metrics
  void run();
  bool take_commands();  // false once told to stop
  // `start` and `end`: of the step; queue waits end at its start, tokens exist at its end.
  void publish(StepReport& report, Clock::time_point start, Clock::time_point end);
  void update_gauges();

  Scheduler scheduler_;
  EngineMetrics metrics_;
  MpscQueue<Command> inbox_;
  std::atomic<uint32_t> signal_{0};  // bumped after each push: the thread waits on it when idle
  std::unordered_map<uint64_t, Tracked> tracked_;
  std::unordered_map<EventSink*, std::vector<TokenEvent>> outgoing_;  // this step's events by sink
  std::thread thread_;
};

}  // namespace rs::engine
