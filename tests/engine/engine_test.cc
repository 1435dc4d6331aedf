// The engine thread around the scheduler: ringserve_preemptions_total counts
// exactly the preemptions its scheduler reported.
#include "core/engine/engine.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <latch>
#include <map>
#include <mutex>
#include <string>
#include <utility>

#include "core/cpu/cpu_executor.h"
#include "tests/engine/tiny_model.h"

namespace rs::engine {

using cpu::CpuExecutor;
using cpu::ModelWeights;
namespace {

using testing::giving_up_after;
using testing::request;
using testing::tiny_weights;

// Holds the first step until the test opens it: requests submitted meanwhile all reach the
// scheduler before its second step, so the engine's schedule is one a test can replay.
class GatedExecutor final : public Executor {
 public:
  explicit GatedExecutor(Executor& inner) : inner_(inner) {}

  void step(const Batch& batch, Logits& logits) override {
    if (!opened_) {
      entered_.count_down();
      open_.wait();
      opened_ = true;
    }
    inner_.step(batch, logits);
  }
  const kv::KvLayout& kv_layout() const override { return inner_.kv_layout(); }
  void read_kv_block(kv::BlockId block, std::span<std::byte> out) const override { inner_.read_kv_block(block, out); }
  void write_kv_block(kv::BlockId block, std::span<const std::byte> bytes) override {
    inner_.write_kv_block(block, bytes);
  }

  void wait_for_first_step() { entered_.wait(); }
  void open() { open_.count_down(); }

 private:
  Executor& inner_;
  std::latch entered_{1};
  std::latch open_{1};
  bool opened_ = false;  // the engine thread's
};

// Each request's tokens, from the engine thread.
class CollectingSink final : public EventSink {
 public:
  void deliver(std::vector<TokenEvent> events) override {
    const std::lock_guard lock(mutex_);
    for (const TokenEvent& e : events) {
      tokens_[e.request].push_back(e.token);
      if (e.finish != Finish::none) ++finished_;
    }
    changed_.notify_all();
  }
  void reject(uint64_t request, std::string message, bool engine_fault) override {
    const std::lock_guard lock(mutex_);
    rejected_[request] = {std::move(message), engine_fault};
    ++finished_;
    changed_.notify_all();
  }

  // False if they have not all finished within a minute: a hang, not a timing.
  bool wait_until_finished(size_t requests) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, std::chrono::minutes(1), [&] { return finished_ >= requests; });
  }
  std::map<uint64_t, std::vector<TokenId>> tokens() {
    const std::lock_guard lock(mutex_);
    return tokens_;
  }
  std::map<uint64_t, std::pair<std::string, bool>> rejected() {  // why, and whether the engine's fault
    const std::lock_guard lock(mutex_);
    return rejected_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::map<uint64_t, std::vector<TokenId>> tokens_;
  std::map<uint64_t, std::pair<std::string, bool>> rejected_;
  size_t finished_ = 0;
};

// Four sequences that each fill the pool at full length (as scheduler_test's pairs): they take turns.
constexpr cpu::CpuExecutorOptions kSmallPool = {.threads = 1, .kv_blocks = 8, .block_tokens = 4};
constexpr SchedulerLimits kLimits = {.max_batch_tokens = 64, .max_seqs = 8, .ctx_size = 1024};

std::vector<GenerationRequest> crowding_requests() {
  std::vector<GenerationRequest> requests;
  for (uint64_t id = 1; id <= 4; ++id) requests.push_back(request(id, 10, 20));
  return requests;
}

struct Replay {
  std::map<uint64_t, std::vector<TokenId>> tokens;
  uint64_t preemptions = 0;
};

// What the engine does below, on a scheduler: one step with the first request alone, then the rest.
Replay replay(const std::vector<GenerationRequest>& requests) {
  CpuExecutor executor(tiny_weights(), kSmallPool);
  Scheduler scheduler(executor, kLimits, {});
  Replay out;
  StepReport report;
  const auto step = [&] {
    scheduler.step(report);
    out.preemptions += report.preempted.size();
    for (const TokenEvent& e : report.events) out.tokens[e.request].push_back(e.token);
  };
  scheduler.add(requests[0]);
  step();
  for (size_t i = 1; i < requests.size(); ++i) scheduler.add(requests[i]);
  while (!scheduler.idle()) step();
  return out;
}

TEST(Engine, PreemptionsTotalCountsEveryPreemptionTheSchedulerReported) {
  const std::vector<GenerationRequest> requests = crowding_requests();
  const Replay expected = replay(requests);
  ASSERT_GT(expected.preemptions, 0u) << "the pool was meant to run out";

  CpuExecutor cpu(tiny_weights(), kSmallPool);
  GatedExecutor gated(cpu);
  CollectingSink sink;
  Engine engine(gated, kLimits, {});
  engine.submit(requests[0], sink);
  gated.wait_for_first_step();
  for (size_t i = 1; i < requests.size(); ++i) engine.submit(requests[i], sink);
  gated.open();
  ASSERT_TRUE(sink.wait_until_finished(requests.size()));

  EXPECT_EQ(sink.tokens(), expected.tokens) << "not the schedule replayed";
  EXPECT_TRUE(sink.rejected().empty());
  EXPECT_EQ(engine.metrics().preemptions.value(), expected.preemptions);
  metrics::Exposition exposition;
  engine.metrics().render(exposition);
  const std::string sample = "\nringserve_preemptions_total " + std::to_string(expected.preemptions) + "\n";
  EXPECT_NE(exposition.text().find(sample), std::string::npos) << exposition.text();
}

// A sequence whose constraint fails is rejected with the reason, as the request's own fault (a 400 at the API),
// and the engine serves on: a request after it completes.
TEST(Engine, ASequenceWhoseConstraintFailsIsRejectedWithTheReason) {
  CpuExecutor cpu(tiny_weights(), kSmallPool);
  CollectingSink sink;
  Engine engine(cpu, kLimits, {});
  GenerationRequest failing = request(1, 10, 20);
  failing.sampling.constraint = giving_up_after(2);
  engine.submit(failing, sink);
  ASSERT_TRUE(sink.wait_until_finished(1));
  engine.submit(request(2, 10, 20), sink);
  ASSERT_TRUE(sink.wait_until_finished(2));
  EXPECT_EQ(sink.rejected(), (std::map<uint64_t, std::pair<std::string, bool>>{{1, {"gave up", false}}}));
  EXPECT_EQ(sink.tokens()[1].size(), 2u);
  EXPECT_EQ(sink.tokens()[2].size(), 20u);
}

}  // namespace
}  // namespace rs::engine
