#include "core/engine/engine.h"

#include <pthread.h>

#include <future>
#include <stdexcept>

#include "core/base/log.h"

namespace rs::engine {
namespace {

double seconds_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

// Collects one request's tokens for generate().
class WaitingSink final : public EventSink {
 public:
  void deliver(std::vector<TokenEvent> events) override {
    for (const TokenEvent& e : events) {
      tokens_.push_back(e.token);
      if (e.finish != Finish::none) done_.set_value();
    }
  }
  void reject(uint64_t, std::string message, bool) override {
    done_.set_exception(std::make_exception_ptr(std::invalid_argument(std::move(message))));
  }
  std::vector<TokenId> wait() {
    done_.get_future().get();
    return std::move(tokens_);
  }

 private:
  std::vector<TokenId> tokens_;
  std::promise<void> done_;
};

}  // namespace

Engine::Engine(Executor& executor, const SchedulerLimits& limits, std::vector<TokenId> end_of_generation,
               PrefixCaching prefix_caching)
    : scheduler_(executor, limits, std::move(end_of_generation), prefix_caching) {
  metrics_.kv_blocks_total.set(executor.kv_layout().n_blocks);
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "engine");  // for top -H and per-thread CPU time in perf/
    run();
  });
}

Engine::~Engine() {
  Command stop;
  stop.kind = Command::stop;
  push(std::move(stop));
  thread_.join();
}

void Engine::push(Command command) {
  inbox_.push(std::move(command));
  signal_.fetch_add(1, std::memory_order_release);
  signal_.notify_one();
}

void Engine::submit(GenerationRequest request, EventSink& sink, Clock::time_point arrival) {
  Command command;
  command.request = std::move(request);
  command.sink = &sink;
  command.arrival = arrival;
  push(std::move(command));
}

void Engine::cancel(uint64_t request) {
  Command command;
  command.kind = Command::cancel;
  command.request.id = request;
  push(std::move(command));
}

void Engine::finish(uint64_t request) {
  Command command;
  command.kind = Command::finish;
  command.request.id = request;
  push(std::move(command));
}

std::vector<TokenId> Engine::generate(GenerationRequest request) {
  WaitingSink sink;
  Command command;
  command.request = std::move(request);
  command.sink = &sink;
  command.arrival = Clock::now();
  command.measured = false;
  push(std::move(command));
  return sink.wait();
}

void Engine::between_steps(std::function<void(Scheduler&)> work) {
  std::promise<void> done;
  Command command;
  command.kind = Command::run;
  command.work = [&] {
    try {
      work(scheduler_);
      done.set_value();
    } catch (...) {
      done.set_exception(std::current_exception());
    }
  };
  push(std::move(command));
  done.get_future().get();
}

bool Engine::take_commands() {
  while (std::optional<Command> command = inbox_.pop()) {
    switch (command->kind) {
      case Command::stop: return false;
      case Command::run: command->work(); break;
      case Command::cancel:
      case Command::finish: {
        const auto it = tracked_.find(command->request.id);
        if (it == tracked_.end()) break;
        scheduler_.cancel(command->request.id);
        if (command->kind == Command::finish) end(command->request.id, Clock::now());
        else tracked_.erase(it);
        break;
      }
      case Command::submit: {
        const uint64_t id = command->request.id;
        const auto prompt_tokens = command->request.prompt.size();
        try {
          scheduler_.add(std::move(command->request));
        } catch (const std::invalid_argument& e) {
          command->sink->reject(id, e.what(), false);
          break;
        }
        tracked_[id] = {command->sink, command->arrival, command->arrival, command->measured};
        if (command->measured) metrics_.prompt_tokens.add(prompt_tokens);
        break;
      }
    }
  }
  return true;
}

void Engine::run() {
  StepReport report;
  for (;;) {
    if (!take_commands()) return;
    if (scheduler_.idle()) {
      const uint32_t seen = signal_.load(std::memory_order_acquire);
      if (!take_commands()) return;
      update_gauges();
      if (scheduler_.idle()) {
        signal_.wait(seen, std::memory_order_acquire);  // until the next push
        continue;
      }
    }
    const Clock::time_point start = Clock::now();
    try {
      scheduler_.step(report);
    } catch (const std::exception& e) {
      // A failing step leaves no sequence it can trust: end them all, say why, keep serving.
      log::error("engine: a step failed ({}); ending the {} requests in flight", e.what(), tracked_.size());
      for (const auto& [id, t] : tracked_) {
        scheduler_.cancel(id);
        t.sink->reject(id, std::string("the engine failed: ") + e.what(), true);
      }
      tracked_.clear();
      continue;
    }
    const Clock::time_point end = Clock::now();
    metrics_.step_time.observe(seconds_between(start, end));
    metrics_.steps.add();
    metrics_.preemptions.add(report.preempted.size());
    metrics_.batch_sequences.set(report.batch_sequences);
    metrics_.batch_tokens.set(report.batch_tokens);
    publish(report, start, end);
    update_gauges();
  }
}

void Engine::publish(StepReport& report, Clock::time_point start, Clock::time_point now) {
  for (const Admitted& a : report.admitted) {
    if (const auto it = tracked_.find(a.request); it != tracked_.end() && it->second.measured) {
      metrics_.queue_wait.observe(seconds_between(it->second.arrival, start));
      metrics_.prefix_cache_queries.add(a.prompt_tokens);
      metrics_.prefix_cache_hits.add(a.cached_tokens);
    }
  }
  for (TokenEvent& event : report.events) {
    const auto it = tracked_.find(event.request);
    if (it == tracked_.end()) continue;
    Tracked& t = it->second;
    if (t.measured && event.token != kNoToken) {
      metrics_.generation_tokens.add();
      if (!t.started) {
        metrics_.time_to_first_token.observe(seconds_between(t.arrival, now));
      } else {
        metrics_.time_per_output_token.observe(seconds_between(t.last_token, now));
      }
    }
    t.started = true;
    t.last_token = now;
    const Finish finish = event.finish;
    const uint64_t id = event.request;
    outgoing_[t.sink].push_back(std::move(event));
    if (finish != Finish::none) end(id, now);
  }
  for (auto& [sink, events] : outgoing_) sink->deliver(std::move(events));
  outgoing_.clear();  // no entry outlives its step: a sink may be gone by the next
  for (auto& [id, why] : report.failed) {
    const auto it = tracked_.find(id);
    if (it == tracked_.end()) continue;
    log::warn("engine: request {} ended: {}", id, why);
    it->second.sink->reject(id, std::move(why), false);
    tracked_.erase(it);
  }
}

void Engine::end(uint64_t request, Clock::time_point now) {
  const auto it = tracked_.find(request);
  if (it->second.measured) metrics_.e2e_latency.observe(seconds_between(it->second.arrival, now));
  tracked_.erase(it);
}

void Engine::update_gauges() {
  metrics_.sequences_waiting.set(scheduler_.waiting());
  metrics_.sequences_running.set(scheduler_.running());
  metrics_.requests_waiting.set(scheduler_.waiting_requests());
  metrics_.requests_running.set(scheduler_.running_requests());
  metrics_.kv_blocks_used.set(scheduler_.kv_cache().used_blocks());
  metrics_.prefix_cache_blocks.set(scheduler_.kv_cache().cached_blocks());
  metrics_.prefix_cache_evictions.set(int64_t(scheduler_.kv_cache().evictions()));
  if (scheduler_.idle()) {
    metrics_.batch_sequences.set(0);
    metrics_.batch_tokens.set(0);
  }
}

}  // namespace rs::engine
