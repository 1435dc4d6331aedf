#pragma once
// Continuous batching: the state machine the engine thread runs. A step is
// plan → run → update: plan() mixes every running sequence's next tokens (one
// decode token, or the next chunk of a prompt) with chunks of newly admitted
// prompts, under a token budget and a sequence limit, into a StepPlan with its
// Batch; the executor runs the Batch; update() samples and turns the logits into
// token events. Each sequence is waiting (never run), running, preempted
// (waiting again, to be recomputed) or finished; its blocks come from the KV
// cache manager, which shares the full blocks of prompts seen before (the
// prefix cache): a prompt whose first blocks are cached starts past them.
//
// Admission is first come, first served while KV blocks are free, and fair
// between requests: a free sequence slot goes to the waiting request with the
// fewest sequences running (the oldest among equals), so one request's many
// choices cannot hold a later small request back until they all ran. When a
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
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/engine/executor.h"
#include "core/kv/kv_cache_manager.h"
#include "core/sampler/sampler.h"

namespace rs::engine {

using Clock = std::chrono::steady_clock;

struct SchedulerLimits {
  uint32_t max_batch_tokens = 2048;  // tokens in one step: prefill chunks plus decodes
  uint32_t max_seqs = 64;            // sequences running at once
  uint32_t ctx_size = 4096;          // prompt plus generated tokens, per sequence
};

struct PrefixCaching {
  bool enabled = true;
  uint64_t salt = 0;  // kv::chain_salt of the model, KV type and block size
};

struct GenerationRequest {
  uint64_t id = 0;     // unique among the requests the scheduler holds
  uint64_t group = 0;  // the API request this is one choice of: groups share the sequence slots fairly
  std::vector<TokenId> prompt;  // not empty; fits ctx_size with room for one token
  sampler::SamplingParams sampling;  // validated for the model's vocabulary
  uint32_t max_tokens = 1;           // ≥ 1 (0 only to score the prompt); clamped to what fits the context
  // Score the prompt's own tokens (echo with logprobs): the first event carries their logprobs,
  // with sampling.top_logprobs alternatives each, from the raw logits. Such a prompt is all computed.
  bool prompt_logprobs = false;
  std::string cache_salt;  // shares cached blocks only with requests of the same salt ("" : the default)
};

// The token of an event that carries none: a prompt scored with max_tokens 0.
inline constexpr TokenId kNoToken = -1;

enum class Finish : uint8_t {
  none,
  stop,    // a stop token (the model's end of generation or a stop_token_id); the event carries it
  length,  // max_tokens or the context
  complete,  // the output constraint is matched and allows nothing more; the event's token is text
};

struct TokenEvent {
  uint64_t request = 0;
  TokenId token = 0;  // or kNoToken
  Finish finish = Finish::none;
  float logprob = 0;                           // with sampling.logprobs
  std::vector<std::pair<TokenId, float>> top;  // with sampling.top_logprobs
  std::vector<sampler::Sampled> prompt;        // prompt_logprobs, first event only: prompt tokens 1, 2, …
  uint32_t cached_tokens = 0;                  // first event only: prompt tokens the prefix cache gave
};

// A request that got its first blocks (its queue wait ends), and what the prefix cache gave it.
struct Admitted {
  uint64_t request = 0;
  uint32_t prompt_tokens = 0;
  uint32_t cached_tokens = 0;
};

// What one step did, besides its events.
struct StepReport {
  std::vector<TokenEvent> events;
  std::vector<Admitted> admitted;
  uint32_t batch_sequences = 0;
  uint32_t batch_tokens = 0;
  uint32_t batch_logits_rows = 0;  // at most max_seqs: the executors size their logits for that
  std::vector<uint64_t> preempted;  // sequences (their request ids) preempted this step, in order
  std::vector<std::pair<uint64_t, std::string>> failed;  // sequences ended by their constraint's failure, and why
};

class Scheduler {
 public:
  // `end_of_generation`: the model's tokens that end a sequence (EOS, EOT…).
  Scheduler(Executor& executor, const SchedulerLimits& limits, std::vector<TokenId> end_of_generation,
            PrefixCaching prefix_caching = {});
  ~Scheduler();

  // Throws std::invalid_argument for a request that can never run: an empty
  // prompt, or one that leaves no room to generate within ctx_size or the KV pool.
  void add(GenerationRequest request);
  // Drops a waiting or running request and frees its blocks now; no event
  // follows. Unknown ids (already finished) are ignored.
  void cancel(uint64_t id);

  bool idle() const { return running_.empty() && waiting_.empty(); }
  // One step: plan it, run its Batch on the executor, update from the logits
  // (nothing runs when no sequence can). `report` is cleared first.
  void step(StepReport& report);

  // Sequences, and requests (groups): a request runs once any of its sequences does.
  uint32_t waiting() const { return uint32_t(waiting_.size()); }
  uint32_t running() const { return uint32_t(running_.size()); }
  uint32_t running_requests() const { return uint32_t(running_per_group_.size()); }
  uint32_t waiting_requests() const;
  const kv::KvCacheManager& kv_cache() const { return kv_cache_; }
  kv::KvCacheManager& kv_cache() { return kv_cache_; }  // between steps: a snapshot fills it
  Executor& executor() { return executor_; }
  const SchedulerLimits& limits() const { return limits_; }

 private:
  struct Sequence;
  using SequencePtr = std::unique_ptr<Sequence>;

  // A step as planned: each scheduled sequence with the tokens it runs and the logits rows it wants, and the
  // Batch the executor runs, in the same order.
  struct StepPlan {
    struct Entry {
      Sequence* sequence;
      uint32_t tokens;
      uint32_t rows;
    };
    std::vector<Entry> entries;
    Batch batch;
    uint32_t budget_tokens = 0;  // left to schedule
    uint32_t budget_rows = 0;    // logits rows left
  };

  // Decides the step: running sequences first (oldest first, preempting the youngest for blocks), then
  // admissions. Leaves plan_ (possibly empty) and fills report's admitted and preempted.
  void plan(StepReport& report);
  // Samples from the step's logits: token events, finished sequences' blocks freed.
  void update(StepReport& report);

  void plan_running(StepReport& report);
  void plan_admissions(StepReport& report);
  void schedule(Sequence& s, uint32_t n);
  // Gives a sequence with no blocks the cached blocks of its prefix; how many tokens they hold.
  uint32_t take_cached_prefix(Sequence& s);
  // Caches `s`'s full, computed blocks under their chain hashes.
  void cache_full_blocks(Sequence& s);
  // The most of `n` new tokens of `s` whose logits rows fit `rows`.
  uint32_t fit_rows(const Sequence& s, uint32_t n, uint32_t rows) const;
  std::deque<SequencePtr>::iterator next_to_admit();
  // Frees the youngest running sequence and queues it first; false if none is younger than `keep`.
  bool preempt_youngest(const Sequence* keep, StepReport& report);
  void enter_running(SequencePtr sequence);
  void leave_running(Sequence& sequence);  // preempted or finished: its blocks go back

  Executor& executor_;
  SchedulerLimits limits_;
  std::vector<TokenId> end_of_generation_;
  PrefixCaching prefix_caching_;
  kv::KvCacheManager kv_cache_;
  std::deque<SequencePtr> waiting_;   // waiting, and preempted ones at the front
  std::vector<SequencePtr> running_;  // in admission order: oldest first
  std::unordered_map<uint64_t, uint32_t> running_per_group_;  // groups with sequences running
  uint64_t next_arrival_ = 0;
  StepPlan plan_;
  Logits logits_;
  // Per step, reused: the rows sampled, what they drew, and for each plan entry its row's index or -1.
  std::vector<SampleRow> sample_rows_;
  std::vector<sampler::Sampled> sampled_;
  std::vector<int32_t> sample_of_entry_;
};

}  // namespace rs::engine
