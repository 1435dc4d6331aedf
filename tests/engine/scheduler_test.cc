// Continuous batching: whatever else shares a step (other sequences, prompt
// chunks of any size, preemption and recompute), each request gets exactly
// the tokens it gets alone; the limits hold; cancelled and finished
// sequences give their blocks back.
#include "core/engine/scheduler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/cpu/cpu_executor.h"
#include "tests/engine/tiny_model.h"

namespace rs::engine {

using cpu::CpuExecutor;
using cpu::ModelWeights;
namespace {

using testing::giving_up_after;
using testing::request;
using testing::tiny_weights;

struct SequenceOutcome {
  std::vector<TokenId> tokens;
  Finish finish = Finish::none;
};

// What the steps so far gave: each request's tokens and how it ended, and the sequences preempted, in order.
struct History {
  std::map<uint64_t, SequenceOutcome> outcomes;
  std::vector<uint64_t> preempted;
  std::map<uint64_t, std::string> failed;  // why, for the sequences their constraint ended
};

// Runs one step, checked against the limits, and adds what it did to `history`.
void step(Scheduler& scheduler, StepReport& report, History& history) {
  scheduler.step(report);
  EXPECT_LE(report.batch_tokens, scheduler.limits().max_batch_tokens);
  EXPECT_LE(report.batch_sequences, scheduler.limits().max_seqs);
  EXPECT_LE(report.batch_logits_rows, scheduler.limits().max_seqs);
  EXPECT_GT(report.batch_sequences, 0u) << "a step with work ran nothing";
  history.preempted.insert(history.preempted.end(), report.preempted.begin(), report.preempted.end());
  for (const auto& [id, why] : report.failed) EXPECT_TRUE(history.failed.emplace(id, why).second) << id;
  for (const TokenEvent& e : report.events) {
    SequenceOutcome& o = history.outcomes[e.request];
    EXPECT_EQ(o.finish, Finish::none) << "event after the end of request " << e.request;
    o.tokens.push_back(e.token);
    o.finish = e.finish;
  }
}

// Runs the scheduler until idle, adding to `history`; every block must be free again.
History run_all(Scheduler& scheduler, History history = {}) {
  StepReport report;
  for (int steps = 0; !scheduler.idle(); ++steps) {
    step(scheduler, report, history);
    if (steps > 100000) {
      ADD_FAILURE() << "no end";
      break;
    }
  }
  EXPECT_EQ(scheduler.kv_cache().free_blocks(), scheduler.kv_cache().total_blocks()) << "blocks not given back";
  return history;
}

SequenceOutcome alone(const GenerationRequest& r, uint32_t kv_blocks = 64) {
  CpuExecutor executor(tiny_weights(), {.threads = 1, .kv_blocks = kv_blocks, .block_tokens = 16});
  Scheduler scheduler(executor, {.max_batch_tokens = 4096, .max_seqs = 1, .ctx_size = 1024}, {});
  scheduler.add(r);
  return run_all(scheduler).outcomes[r.id];
}

TEST(Scheduler, ManyRequestsInOneBatchEachGetWhatTheyGetAlone) {
  std::vector<GenerationRequest> requests;
  for (uint64_t id = 1; id <= 12; ++id) {
    const std::optional<uint64_t> seed = id % 2 ? std::optional<uint64_t>(id * 1000) : std::nullopt;
    requests.push_back(request(id, 5 + uint32_t(id * 9 % 40), 6 + uint32_t(id % 5), seed));
  }
  CpuExecutor executor(tiny_weights(), {.threads = 1, .kv_blocks = 256, .block_tokens = 16});
  // A small token budget: prompts are read in chunks beside other sequences' decodes.
  Scheduler scheduler(executor, {.max_batch_tokens = 24, .max_seqs = 5, .ctx_size = 1024}, {});
  for (const auto& r : requests) scheduler.add(r);
  const auto together = run_all(scheduler).outcomes;
  ASSERT_EQ(together.size(), requests.size());
  for (const auto& r : requests) {
    const SequenceOutcome expected = alone(r);
    EXPECT_EQ(together.at(r.id).tokens, expected.tokens) << "request " << r.id;
    EXPECT_EQ(together.at(r.id).tokens.size(), r.max_tokens);
    EXPECT_EQ(together.at(r.id).finish, Finish::length);
  }
}

// The CPU executor as it is, except that it leaves sampling to Executor's default: in order, on the engine thread.
class InOrderSampling final : public Executor {
 public:
  explicit InOrderSampling(CpuExecutor& cpu) : cpu_(cpu) {}
  void step(const Batch& batch, Logits& logits) override { cpu_.step(batch, logits); }
  const kv::KvLayout& kv_layout() const override { return cpu_.kv_layout(); }
  void read_kv_block(kv::BlockId block, std::span<std::byte> out) const override { cpu_.read_kv_block(block, out); }
  void write_kv_block(kv::BlockId block, std::span<const std::byte> bytes) override {
    cpu_.write_kv_block(block, bytes);
  }

 private:
  CpuExecutor& cpu_;
};

// Every event of a run, by request, in order.
std::map<uint64_t, std::vector<TokenEvent>> events_of(Executor& executor, const std::vector<GenerationRequest>& requests) {
  Scheduler scheduler(executor, {.max_batch_tokens = 64, .max_seqs = 16, .ctx_size = 1024}, {});
  for (const auto& r : requests) scheduler.add(r);
  std::map<uint64_t, std::vector<TokenEvent>> events;
  StepReport report;
  while (!scheduler.idle()) {
    scheduler.step(report);
    for (TokenEvent& e : report.events) events[e.request].push_back(std::move(e));
  }
  return events;
}

// Sampling where the logits are: the CPU executor draws a step's rows at once on its pool, and each sequence gets
// exactly the tokens, logprobs and alternatives the engine thread's in-order draws give, whatever its sampling.
TEST(Scheduler, TheExecutorsParallelSamplingDrawsWhatInOrderSamplingDraws) {
  std::vector<GenerationRequest> requests;
  for (uint64_t id = 1; id <= 16; ++id) {
    GenerationRequest r = request(id, 4 + uint32_t(id * 7 % 30), 12, id * 1234);
    sampler::SamplingParams& p = r.sampling;
    p.logprobs = true;
    p.top_logprobs = int32_t(id % 4);
    if (id % 3 == 0) p.top_k = 20, p.top_p = 0.9f;
    if (id % 4 == 0) p.min_p = 0.05f, p.temperature = 0.7f;
    if (id % 5 == 0) p.repetition_penalty = 1.3f, p.presence_penalty = 0.5f, p.frequency_penalty = 0.4f;
    if (id % 6 == 0) p.logit_bias = {{3, 5.0f}, {7, -100.0f}};
    if (id % 7 == 0) p.temperature = 0;
    requests.push_back(std::move(r));
  }
  CpuExecutor pooled(tiny_weights(), {.threads = 2, .kv_blocks = 256, .block_tokens = 16});
  CpuExecutor plain(tiny_weights(), {.threads = 2, .kv_blocks = 256, .block_tokens = 16});
  InOrderSampling in_order(plain);
  const auto parallel = events_of(pooled, requests);
  const auto sequential = events_of(in_order, requests);
  ASSERT_EQ(parallel.size(), requests.size());
  for (const auto& [id, expected] : sequential) {
    const std::vector<TokenEvent>& got = parallel.at(id);
    ASSERT_EQ(got.size(), expected.size()) << "request " << id;
    for (size_t i = 0; i < got.size(); ++i) {
      EXPECT_EQ(got[i].token, expected[i].token) << "request " << id << " token " << i;
      EXPECT_EQ(got[i].logprob, expected[i].logprob) << "request " << id << " token " << i;
      EXPECT_EQ(got[i].top, expected[i].top) << "request " << id << " token " << i;
      EXPECT_EQ(got[i].finish, expected[i].finish) << "request " << id << " token " << i;
    }
  }
}

TEST(Scheduler, PreemptedSequencesAreRecomputedAndLoseNothing) {
  std::vector<GenerationRequest> requests;
  for (uint64_t id = 1; id <= 6; ++id) requests.push_back(request(id, 20, 40, id * 77));
  // 12 blocks of 4 tokens: room for about one sequence at full length, so they take turns.
  CpuExecutor executor(tiny_weights(), {.threads = 1, .kv_blocks = 16, .block_tokens = 4});
  Scheduler scheduler(executor, {.max_batch_tokens = 64, .max_seqs = 6, .ctx_size = 1024}, {});
  for (const auto& r : requests) scheduler.add(r);
  const History together = run_all(scheduler);
  EXPECT_FALSE(together.preempted.empty()) << "the pool was meant to run out";
  for (const auto& r : requests) EXPECT_EQ(together.outcomes.at(r.id).tokens, alone(r).tokens) << "request " << r.id;
}

// Four sequences of 10 + 20 tokens, each taking 8 blocks of 4 at full length: the whole pool. They
// run in pairs (the watermark keeps a third out); both of a pair reach their fifth block at their
// 8th token, when the younger is preempted with 7 tokens and recomputed after the older ends.
constexpr uint32_t kPairPool = 8, kPairBlockTokens = 4, kPairPrompt = 10, kPairTokens = 20;
constexpr size_t kTokensWhenPreempted = 7;

Scheduler pair_scheduler(CpuExecutor& executor) {
  return Scheduler(executor, {.max_batch_tokens = 64, .max_seqs = 8, .ctx_size = 1024}, {});
}

CpuExecutor pair_executor() {
  return CpuExecutor(tiny_weights(), {.threads = 1, .kv_blocks = kPairPool, .block_tokens = kPairBlockTokens});
}

TEST(Scheduler, FirstComeFirstServedAndTheOldestIsNeverPreempted) {
  CpuExecutor executor = pair_executor();
  Scheduler scheduler = pair_scheduler(executor);
  for (uint64_t id = 1; id <= 4; ++id) scheduler.add(request(id, kPairPrompt, kPairTokens));
  std::vector<uint64_t> finished;
  std::vector<std::pair<uint64_t, size_t>> preempted;  // the victim, and the tokens it had
  std::map<uint64_t, size_t> tokens;
  std::set<uint64_t> running;  // what the last step ran and did not end: every step here runs all it holds
  StepReport report;
  while (!scheduler.idle()) {
    scheduler.step(report);
    for (const uint64_t victim : report.preempted) {
      ASSERT_FALSE(running.empty()) << "request " << victim << " preempted while not running";
      EXPECT_EQ(victim, *running.rbegin()) << "not the youngest running";
      EXPECT_NE(victim, *running.begin()) << "the oldest running was preempted";
      running.erase(victim);
      preempted.emplace_back(victim, tokens[victim]);
    }
    running.clear();
    for (const TokenEvent& e : report.events) {
      ++tokens[e.request];
      if (e.finish != Finish::none) finished.push_back(e.request);
      else running.insert(e.request);
    }
  }
  using Preempted = std::vector<std::pair<uint64_t, size_t>>;
  EXPECT_EQ(preempted, (Preempted{{2, kTokensWhenPreempted}, {4, kTokensWhenPreempted}}));
  EXPECT_EQ(finished, (std::vector<uint64_t>{1, 2, 3, 4}));
}

// A preempted sequence waits again holding no blocks: cancelling it frees nothing more, it never comes
// back, and the others run as they would have.
TEST(Scheduler, CancellingAPreemptedSequenceDropsItForGood) {
  CpuExecutor executor = pair_executor();
  Scheduler scheduler = pair_scheduler(executor);
  std::vector<GenerationRequest> requests;
  for (uint64_t id = 1; id <= 4; ++id) {
    requests.push_back(request(id, kPairPrompt, kPairTokens));
    scheduler.add(requests.back());
  }
  History history;
  StepReport report;
  while (history.preempted.empty() && !scheduler.idle()) step(scheduler, report, history);
  ASSERT_EQ(history.preempted, std::vector<uint64_t>{2});
  EXPECT_EQ(history.outcomes[2].tokens.size(), kTokensWhenPreempted);
  // 1 runs in 5 blocks (17 positions); 2 waits, ahead of 3 and 4, with none.
  EXPECT_EQ(scheduler.running(), 1u);
  EXPECT_EQ(scheduler.waiting(), 3u);
  EXPECT_EQ(scheduler.kv_cache().free_blocks(), kPairPool - 5);

  scheduler.cancel(2);
  EXPECT_EQ(scheduler.running(), 1u);
  EXPECT_EQ(scheduler.waiting(), 2u);
  EXPECT_EQ(scheduler.kv_cache().free_blocks(), kPairPool - 5);

  history = run_all(scheduler, std::move(history));
  EXPECT_EQ(history.outcomes[2].tokens.size(), kTokensWhenPreempted) << "events after the cancel";
  EXPECT_EQ(history.outcomes[2].finish, Finish::none);
  EXPECT_EQ(history.preempted, (std::vector<uint64_t>{2, 4})) << "3 and 4 run as a pair as 1 and 2 did";
  for (const uint64_t id : {1, 3, 4}) {
    EXPECT_EQ(history.outcomes[id].tokens, alone(requests[id - 1]).tokens) << "request " << id;
    EXPECT_EQ(history.outcomes[id].finish, Finish::length) << "request " << id;
  }
}

// The sampler keeps its state across preemption: penalties over the tokens generated before it (greedy,
// so they alone could change a token) and a stop token met after it give exactly the tokens of a run alone.
TEST(Scheduler, APreemptedSequenceKeepsItsPenaltiesAndStopTokens) {
  GenerationRequest penalized = request(2, kPairPrompt, kPairTokens);
  penalized.sampling.presence_penalty = 0.8f;
  penalized.sampling.frequency_penalty = 0.6f;
  penalized.sampling.repetition_penalty = 1.3f;
  const SequenceOutcome free_run = alone(penalized);
  ASSERT_EQ(free_run.tokens.size(), kPairTokens);
  ASSERT_NE(free_run.tokens, alone(request(2, kPairPrompt, kPairTokens)).tokens) << "the penalties change nothing";
  // Stop at the last token but one that has not come before: it ends the sequence early, and as many
  // tokens as possible after the preemption depend on the penalties' counts from before it.
  const auto earlier = [&](size_t i) {
    return std::find(free_run.tokens.begin(), free_run.tokens.begin() + ptrdiff_t(i), free_run.tokens[i]) !=
           free_run.tokens.begin() + ptrdiff_t(i);
  };
  size_t stop_at = free_run.tokens.size() - 2;
  while (stop_at > kTokensWhenPreempted && earlier(stop_at)) --stop_at;
  ASSERT_FALSE(earlier(stop_at)) << "no token after the preemption is new";
  penalized.sampling.stop_token_ids = {free_run.tokens[stop_at]};

  CpuExecutor executor = pair_executor();
  Scheduler scheduler = pair_scheduler(executor);
  const std::vector<GenerationRequest> requests = {request(1, kPairPrompt, kPairTokens), penalized,
                                                   request(3, kPairPrompt, kPairTokens),
                                                   request(4, kPairPrompt, kPairTokens)};
  for (const GenerationRequest& r : requests) scheduler.add(r);
  History history;
  StepReport report;
  while (history.preempted.empty() && !scheduler.idle()) step(scheduler, report, history);
  ASSERT_EQ(history.preempted, std::vector<uint64_t>{2});
  ASSERT_EQ(history.outcomes[2].tokens.size(), kTokensWhenPreempted);
  history = run_all(scheduler, std::move(history));

  const std::vector<TokenId> until_stop(free_run.tokens.begin(), free_run.tokens.begin() + ptrdiff_t(stop_at) + 1);
  EXPECT_EQ(history.outcomes[2].tokens, until_stop);
  EXPECT_EQ(history.outcomes[2].finish, Finish::stop);
  EXPECT_EQ(alone(penalized).tokens, until_stop);
  for (const uint64_t id : {1, 3, 4}) {
    EXPECT_EQ(history.outcomes[id].tokens, alone(requests[id - 1]).tokens) << "request " << id;
  }
}

TEST(Scheduler, CancelFreesBlocksAtOnce) {
  CpuExecutor executor(tiny_weights(), {.threads = 1, .kv_blocks = 64, .block_tokens = 16});
  Scheduler scheduler(executor, {.max_batch_tokens = 512, .max_seqs = 8, .ctx_size = 1024}, {});
  scheduler.add(request(1, 100, 50));
  scheduler.add(request(2, 30, 50));
  StepReport report;
  scheduler.step(report);
  EXPECT_EQ(scheduler.running(), 2u);
  EXPECT_LT(scheduler.kv_cache().free_blocks(), 64u);
  scheduler.cancel(1);
  scheduler.cancel(42);  // unknown: ignored
  EXPECT_EQ(scheduler.running(), 1u);
  scheduler.cancel(2);
  EXPECT_TRUE(scheduler.idle());
  EXPECT_EQ(scheduler.kv_cache().free_blocks(), 64u);
  scheduler.step(report);
  EXPECT_TRUE(report.events.empty());
}

// A constraint that fails ends its sequence, and only it, with the reason, its blocks given back; the draw from
// its last, unfinished mask is not a token.
TEST(Scheduler, AConstraintThatFailsEndsItsSequenceAloneWithTheReason) {
  const SequenceOutcome free_run = alone(request(2, 8, 10));
  CpuExecutor executor(tiny_weights(), {.threads = 1, .kv_blocks = 64});
  Scheduler scheduler(executor, {.max_batch_tokens = 64, .max_seqs = 2, .ctx_size = 1024}, {});
  GenerationRequest failing = request(1, 8, 10);
  failing.sampling.constraint = giving_up_after(3);
  scheduler.add(failing);
  scheduler.add(request(2, 8, 10));
  const History history = run_all(scheduler);
  EXPECT_EQ(history.outcomes.at(1).tokens.size(), 3u);
  EXPECT_EQ(history.outcomes.at(1).finish, Finish::none);  // no event ends it: the failure does
  EXPECT_EQ(history.failed, (std::map<uint64_t, std::string>{{1, "gave up"}}));
  EXPECT_EQ(history.outcomes.at(2).tokens, free_run.tokens);
  EXPECT_EQ(history.outcomes.at(2).finish, Finish::length);
}

TEST(Scheduler, StopTokensAndTheContextEndASequence) {
  const SequenceOutcome free_run = alone(request(1, 8, 10));
  ASSERT_EQ(free_run.tokens.size(), 10u);
  // Stop at the third token's id: the event carries it and says stop.
  GenerationRequest stopping = request(1, 8, 10);
  stopping.sampling.stop_token_ids = {free_run.tokens[2]};
  const SequenceOutcome stopped = alone(stopping);
  const auto first = std::find(free_run.tokens.begin(), free_run.tokens.end(), free_run.tokens[2]);
  EXPECT_EQ(stopped.tokens, std::vector<TokenId>(free_run.tokens.begin(), first + 1));
  EXPECT_EQ(stopped.finish, Finish::stop);

  // End of generation tokens count unless ignore_eos.
  CpuExecutor executor(tiny_weights(), {.threads = 1, .kv_blocks = 64});
  Scheduler eos(executor, {.max_batch_tokens = 64, .max_seqs = 2, .ctx_size = 1024}, {free_run.tokens[0]});
  GenerationRequest honours = request(1, 8, 10);
  honours.sampling.ignore_eos = false;
  eos.add(honours);
  EXPECT_EQ(run_all(eos).outcomes[1].tokens, std::vector<TokenId>{free_run.tokens[0]});

  // A context of 12: an 8-token prompt gets 4 tokens, then "length".
  Scheduler small(executor, {.max_batch_tokens = 64, .max_seqs = 2, .ctx_size = 12}, {});
  small.add(request(1, 8, 100));
  const SequenceOutcome clamped = run_all(small).outcomes[1];
  EXPECT_EQ(clamped.tokens.size(), 4u);
  EXPECT_EQ(clamped.finish, Finish::length);
}

TEST(Scheduler, RejectsWhatCanNeverRun) {
  CpuExecutor executor(tiny_weights(), {.threads = 1, .kv_blocks = 4, .block_tokens = 16});
  Scheduler scheduler(executor, {.max_batch_tokens = 64, .max_seqs = 2, .ctx_size = 32}, {});
  EXPECT_THROW(scheduler.add(request(1, 0, 5)), std::invalid_argument);
  EXPECT_THROW(scheduler.add(request(2, 32, 5)), std::invalid_argument);  // no room to generate
  scheduler.add(request(3, 31, 5));                                        // one token fits
  const auto out = run_all(scheduler).outcomes;
  EXPECT_EQ(out.at(3).tokens.size(), 1u);
  EXPECT_THROW(Scheduler(executor, {.max_batch_tokens = 0}, {}), std::invalid_argument);
}

// One request's many choices hold every slot; a later one-sequence request gets the next free slot,
// not the slot after all of them.
TEST(Scheduler, FreeSlotsGoToTheRequestWithTheFewestSequencesRunning) {
  CpuExecutor executor(tiny_weights(), {.threads = 1, .kv_blocks = 256, .block_tokens = 16});
  Scheduler scheduler(executor, {.max_batch_tokens = 256, .max_seqs = 4, .ctx_size = 1024}, {});
  std::vector<GenerationRequest> big;
  for (uint64_t id = 1; id <= 12; ++id) {
    big.push_back(request(id, 6, 8));
    big.back().group = 100;
    scheduler.add(big.back());
  }
  GenerationRequest small = request(50, 6, 4);
  small.group = 200;
  std::set<uint64_t> big_started;
  size_t big_started_before_small = 0;
  std::map<uint64_t, std::vector<TokenId>> tokens;
  StepReport report;
  for (int step = 0; !scheduler.idle(); ++step) {
    if (step == 1) scheduler.add(small);  // arrives while the big request holds every slot
    scheduler.step(report);
    for (const TokenEvent& e : report.events) {
      if (e.request == small.id && tokens[e.request].empty()) big_started_before_small = big_started.size();
      if (e.request != small.id) big_started.insert(e.request);
      tokens[e.request].push_back(e.token);
    }
  }
  // The first four held every slot; when they ended, the small request and the big one (none running,
  // the big one older) took the first two free slots: first come, first served would have run all
  // twelve before it.
  EXPECT_EQ(big_started_before_small, 5u);
  EXPECT_EQ(tokens[small.id], alone(small).tokens);
  for (const GenerationRequest& r : big) EXPECT_EQ(tokens[r.id], alone(r).tokens) << "request " << r.id;
}

// Echo with logprobs: each prompt token is scored from the logits of the position before it, as a
// whole-prompt forward pass gives them, however the prompt is cut into chunks and logits rows.
TEST(Scheduler, PromptLogprobsScoreEachPromptTokenFromThePositionBefore) {
  GenerationRequest scored = request(1, 40, 3);
  scored.prompt_logprobs = true;
  scored.sampling.logprobs = true;
  scored.sampling.top_logprobs = 2;

  CpuExecutor reference(tiny_weights(), {.threads = 1, .kv_blocks = 8, .block_tokens = 16});
  std::vector<BlockId> blocks = {0, 1, 2};
  Batch whole;
  whole.sequences.push_back({scored.prompt, 0, blocks, uint32_t(scored.prompt.size())});
  Logits logits;
  reference.step(whole, logits);
  ASSERT_EQ(logits.rows(), scored.prompt.size());

  for (const uint32_t max_seqs : {2u, 3u, 64u}) {  // two rows a step (with a decode beside it) up to all at once
    CpuExecutor executor(tiny_weights(), {.threads = 1, .kv_blocks = 64, .block_tokens = 16});
    Scheduler scheduler(executor, {.max_batch_tokens = 16, .max_seqs = max_seqs, .ctx_size = 1024}, {});
    GenerationRequest beside = request(2, 5, 30);
    scheduler.add(beside);
    scheduler.add(scored);
    std::vector<TokenEvent> events;
    StepReport report;
    while (!scheduler.idle()) {
      scheduler.step(report);
      EXPECT_LE(report.batch_logits_rows, max_seqs);
      for (TokenEvent& e : report.events) {
        if (e.request == scored.id) events.push_back(std::move(e));
      }
    }
    ASSERT_EQ(events.size(), 3u);
    ASSERT_EQ(events[0].prompt.size(), scored.prompt.size() - 1) << "max_seqs " << max_seqs;
    for (size_t i = 1; i < events.size(); ++i) EXPECT_TRUE(events[i].prompt.empty());
    for (size_t p = 0; p + 1 < scored.prompt.size(); ++p) {
      const sampler::Sampled want = sampler::score_token(logits.row(p), scored.prompt[p + 1], 2);
      EXPECT_EQ(events[0].prompt[p].token, scored.prompt[p + 1]);
      EXPECT_EQ(events[0].prompt[p].logprob, want.logprob) << "position " << p << ", max_seqs " << max_seqs;
      EXPECT_EQ(events[0].prompt[p].top, want.top) << "position " << p;
    }
    GenerationRequest unscored = scored;
    unscored.prompt_logprobs = false;
    const SequenceOutcome plain = alone(unscored);
    for (size_t i = 0; i < events.size(); ++i) EXPECT_EQ(events[i].token, plain.tokens[i]);
  }
}

TEST(Scheduler, MaxTokensZeroScoresThePromptOnly) {
  GenerationRequest scored = request(1, 20, 0);
  scored.prompt_logprobs = true;
  CpuExecutor executor(tiny_weights(), {.threads = 1, .kv_blocks = 64, .block_tokens = 16});
  Scheduler scheduler(executor, {.max_batch_tokens = 64, .max_seqs = 4, .ctx_size = 1024}, {});
  scheduler.add(scored);
  StepReport report;
  std::vector<TokenEvent> events;
  while (!scheduler.idle()) {
    scheduler.step(report);
    for (TokenEvent& e : report.events) events.push_back(std::move(e));
  }
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].token, kNoToken);
  EXPECT_EQ(events[0].finish, Finish::length);
  EXPECT_EQ(events[0].prompt.size(), 19u);
  EXPECT_EQ(scheduler.kv_cache().free_blocks(), 64u);
}

TEST(Scheduler, APreemptedPromptBeingScoredKeepsItsScores) {
  std::vector<GenerationRequest> requests;
  for (uint64_t id = 1; id <= 4; ++id) {
    requests.push_back(request(id, 24, 30, id * 5));
    requests.back().prompt_logprobs = true;
  }
  std::map<uint64_t, std::vector<sampler::Sampled>> alone_scores;
  for (const GenerationRequest& r : requests) {
    CpuExecutor executor(tiny_weights(), {.threads = 1, .kv_blocks = 64, .block_tokens = 4});
    Scheduler scheduler(executor, {.max_batch_tokens = 8, .max_seqs = 4, .ctx_size = 1024}, {});
    scheduler.add(r);
    StepReport report;
    while (!scheduler.idle()) {
      scheduler.step(report);
      for (TokenEvent& e : report.events) {
        if (!e.prompt.empty()) alone_scores[r.id] = std::move(e.prompt);
      }
    }
  }
  CpuExecutor executor(tiny_weights(), {.threads = 1, .kv_blocks = 20, .block_tokens = 4});
  Scheduler scheduler(executor, {.max_batch_tokens = 8, .max_seqs = 4, .ctx_size = 1024}, {});
  for (const GenerationRequest& r : requests) scheduler.add(r);
  size_t preemptions = 0;
  StepReport report;
  std::map<uint64_t, std::vector<sampler::Sampled>> scores;
  while (!scheduler.idle()) {
    scheduler.step(report);
    preemptions += report.preempted.size();
    for (TokenEvent& e : report.events) {
      if (!e.prompt.empty()) scores[e.request] = std::move(e.prompt);
    }
  }
  EXPECT_GT(preemptions, 0u) << "the pool was meant to run out";
  for (const GenerationRequest& r : requests) {
    ASSERT_EQ(scores[r.id].size(), 23u);
    for (size_t p = 0; p < 23; ++p) EXPECT_EQ(scores[r.id][p].logprob, alone_scores[r.id][p].logprob);
  }
}

}  // namespace
}  // namespace rs::engine
