#pragma once
// Continuous batching: the state machine the engine thread runs. Each step
// mixes every running sequence's next tokens (one decode token, or the next
// chunk of a prompt) with chunks of newly admitted prompts, under a token
// budget and a sequence limit, runs them as one Batch and samples.
//
// Admission is first come, first served while KV blocks are free. When a
// running sequence needs a block and none is free, the youngest running
// sequence is preempted: its blocks are freed and it goes back to the head of
// the queue, to be recomputed (prompt and generated tokens) when blocks are
// free again. Its sampler keeps its state, so its output does not change.
// The oldest sequence is never preempted for a younger one: nobody starves.
//
// Single-threaded and deterministic: the engine thread owns it.
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <span>
#include <utility>
#include <vector>

#include "core/engine/block_pool.h"
#include "core/engine/executor.h"
#include "core/sampler/sampler.h"

namespace rs::engine {

using Clock = std::chrono::steady_clock;

struct SchedulerLimits {
  uint32_t max_batch_tokens = 2048;  // tokens in one step: prefill chunks plus decodes
  uint32_t max_seqs = 64;            // sequences running at once
  uint32_t ctx_size = 4096;          // prompt plus generated tokens, per sequence
};

struct GenerationRequest {
  uint64_t id = 0;  // unique among the requests the scheduler holds
  std::vector<TokenId> prompt;  // not empty; fits ctx_size with room for one token
  sampler::SamplingParams sampling;  // validated for the model's vocabulary
  uint32_t max_tokens = 1;           // ≥ 1; clamped to what fits the context
};

enum class Finish : uint8_t {
  none,
  stop,    // a stop token (the model's end of generation or a stop_token_id); the event carries it
  length,  // max_tokens or the context
};

struct TokenEvent {
  uint64_t request = 0;
  TokenId token = 0;
  Finish finish = Finish::none;
  float logprob = 0;                           // with sampling.logprobs
  std::vector<std::pair<TokenId, float>> top;  // with sampling.top_logprobs
};

// What one step did, besides its events.
struct StepReport {
  std::vector<TokenEvent> events;
  std::vector<uint64_t> admitted;  // requests that got their first blocks this step (queue wait ends)
  uint32_t batch_sequences = 0;
  uint32_t batch_tokens = 0;
  uint32_t preemptions = 0;
};

class Scheduler {
 public:
  // `end_of_generation`: the model's tokens that end a sequence (EOS, EOT…).
  Scheduler(Executor& executor, const SchedulerLimits& limits, std::vector<TokenId> end_of_generation);
  ~Scheduler();

  // Throws std::invalid_argument for a request that can never run: an empty
  // prompt, or one that leaves no room to generate within ctx_size or the KV pool.
  void add(GenerationRequest request);
  // Drops a waiting or running request and frees its blocks now; no event
  // follows. Unknown ids (already finished) are ignored.
  void cancel(uint64_t id);

  bool idle() const { return running_.empty() && waiting_.empty(); }
  // Runs one step (nothing when idle). `report` is cleared first.
  void step(StepReport& report);

  uint32_t waiting() const { return uint32_t(waiting_.size()); }
  uint32_t running() const { return uint32_t(running_.size()); }
  const BlockPool& blocks() const { return pool_; }
  const SchedulerLimits& limits() const { return limits_; }

 private:
  struct Sequence;
  using SequencePtr = std::unique_ptr<Sequence>;

  // Blocks for `sequence` to hold `positions` tokens; false when the pool has too few.
  bool reserve(Sequence& sequence, uint32_t positions);
  void free_blocks(Sequence& sequence);
  // Frees the youngest running sequence and queues it first; false if none is younger than `keep`.
  bool preempt_youngest(const Sequence* keep, StepReport& report);
  void schedule_running(uint32_t& budget, StepReport& report);
  void admit_waiting(uint32_t& budget, StepReport& report);
  void sample(StepReport& report);

  Executor& executor_;
  SchedulerLimits limits_;
  std::vector<TokenId> end_of_generation_;
  uint32_t block_tokens_;
  BlockPool pool_;
  std::deque<SequencePtr> waiting_;
  std::vector<SequencePtr> running_;  // in admission order: oldest first
  uint64_t next_admission_ = 0;

  // This step's batch: the sequences scheduled and how many tokens each runs.
  struct Scheduled {
    Sequence* sequence;
    uint32_t tokens;
  };
  std::vector<Scheduled> scheduled_;
  Batch batch_;
  Logits logits_;
};

}  // namespace rs::engine
