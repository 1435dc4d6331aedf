// Continuous batching: whatever else shares a step (other sequences, prompt
// chunks of any size, preemption and recompute), each request gets exactly
// the tokens it gets alone; the limits hold; cancelled and finished
// sequences give their blocks back.
#include "core/engine/scheduler.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <set>

#include "core/engine/cpu_executor.h"
#include "core/model/synth.h"

namespace rs::engine {
namespace {

const ModelWeights& tiny_weights() {
  static const std::unique_ptr<ModelWeights> weights = [] {
    const std::string path = ::testing::TempDir() + "/scheduler-tiny-" + std::to_string(::getpid()) + ".gguf";
    model::SynthOptions options;
    options.type = model::TensorType::q8_0;
    options.seed = 11;
    options.output = path;
    model::synth_model(options);
    auto w = std::make_unique<ModelWeights>(describe_model(path), io::StreamOptions{.direct = false});
    std::filesystem::remove(path);
    return w;
  }();
  return *weights;
}

GenerationRequest request(uint64_t id, uint32_t prompt_tokens, uint32_t max_tokens, std::optional<uint64_t> seed = {}) {
  GenerationRequest r;
  r.id = id;
  for (uint32_t i = 0; i < prompt_tokens; ++i) r.prompt.push_back(TokenId((id * 31 + i * 7 + 3) % 250 + 1));
  r.max_tokens = max_tokens;
  r.sampling.max_tokens = int32_t(max_tokens);
  if (seed) {
    r.sampling.temperature = 1.0f;
    r.sampling.seed = seed;
  } else {
    r.sampling.temperature = 0.0f;
  }
  r.sampling.ignore_eos = true;
  return r;
}

struct Outcome {
  std::vector<TokenId> tokens;
  Finish finish = Finish::none;
};

// Runs the scheduler until idle; every step is checked against the limits.
std::map<uint64_t, Outcome> run_all(Scheduler& scheduler, uint32_t* preemptions = nullptr) {
  std::map<uint64_t, Outcome> out;
  StepReport report;
  for (int steps = 0; !scheduler.idle(); ++steps) {
    scheduler.step(report);
    EXPECT_LE(report.batch_tokens, scheduler.limits().max_batch_tokens);
    EXPECT_LE(report.batch_sequences, scheduler.limits().max_seqs);
    EXPECT_LE(report.batch_logits_rows, scheduler.limits().max_seqs);
    EXPECT_GT(report.batch_sequences, 0u) << "a step with work ran nothing";
    if (preemptions) *preemptions += report.preemptions;
    for (const TokenEvent& e : report.events) {
      Outcome& o = out[e.request];
      EXPECT_EQ(o.finish, Finish::none) << "event after the end of request " << e.request;
      o.tokens.push_back(e.token);
      o.finish = e.finish;
    }
    if (steps > 100000) {
      ADD_FAILURE() << "no end";
      break;
    }
  }
  EXPECT_EQ(scheduler.blocks().free_blocks(), scheduler.blocks().total_blocks()) << "blocks not given back";
  return out;
}

Outcome alone(const GenerationRequest& r, uint32_t kv_blocks = 64) {
  CpuExecutor executor(tiny_weights(), {.threads = 1, .kv_blocks = kv_blocks, .block_tokens = 16});
  Scheduler scheduler(executor, {.max_batch_tokens = 4096, .max_seqs = 1, .ctx_size = 1024}, {});
  scheduler.add(r);
  return run_all(scheduler)[r.id];
}

TEST(Scheduler, ManyRequestsInOneBatchEachGetWhatTheyGetAlone) {
  std::vector<GenerationRequest> requests;
  for (uint64_t id = 1; id <= 12; ++id) {
    requests.push_back(request(id, 5 + uint32_t(id * 9 % 40), 6 + uint32_t(id % 5), id % 2 ? std::optional<uint64_t>(id * 1000) : std::nullopt));
  }
  CpuExecutor executor(tiny_weights(), {.threads = 1, .kv_blocks = 256, .block_tokens = 16});
  // A small token budget: prompts are read in chunks beside other sequences' decodes.
  Scheduler scheduler(executor, {.max_batch_tokens = 24, .max_seqs = 5, .ctx_size = 1024}, {});
  for (const auto& r : requests) scheduler.add(r);
  const auto together = run_all(scheduler);
  ASSERT_EQ(together.size(), requests.size());
  for (const auto& r : requests) {
    const Outcome expected = alone(r);
    EXPECT_EQ(together.at(r.id).tokens, expected.tokens) << "request " << r.id;
    EXPECT_EQ(together.at(r.id).tokens.size(), r.max_tokens);
    EXPECT_EQ(together.at(r.id).finish, Finish::length);
  }
}

TEST(Scheduler, PreemptedSequencesAreRecomputedAndLoseNothing) {
  std::vector<GenerationRequest> requests;
  for (uint64_t id = 1; id <= 6; ++id) requests.push_back(request(id, 20, 40, id * 77));
  // 12 blocks of 4 tokens: room for about one sequence at full length, so they take turns.
  CpuExecutor executor(tiny_weights(), {.threads = 1, .kv_blocks = 16, .block_tokens = 4});
  Scheduler scheduler(executor, {.max_batch_tokens = 64, .max_seqs = 6, .ctx_size = 1024}, {});
  for (const auto& r : requests) scheduler.add(r);
  uint32_t preemptions = 0;
  const auto together = run_all(scheduler, &preemptions);
  EXPECT_GT(preemptions, 0u) << "the pool was meant to run out";
  for (const auto& r : requests) EXPECT_EQ(together.at(r.id).tokens, alone(r).tokens) << "request " << r.id;
}

TEST(Scheduler, FirstComeFirstServedAndTheOldestIsNeverPreempted) {
  CpuExecutor executor(tiny_weights(), {.threads = 1, .kv_blocks = 8, .block_tokens = 4});
  Scheduler scheduler(executor, {.max_batch_tokens = 64, .max_seqs = 8, .ctx_size = 1024}, {});
  for (uint64_t id = 1; id <= 4; ++id) scheduler.add(request(id, 10, 20));
  std::vector<uint64_t> finished;
  StepReport report;
  while (!scheduler.idle()) {
    scheduler.step(report);
    for (const TokenEvent& e : report.events) {
      if (e.finish != Finish::none) finished.push_back(e.request);
    }
  }
  EXPECT_EQ(finished, (std::vector<uint64_t>{1, 2, 3, 4}));
}

TEST(Scheduler, CancelFreesBlocksAtOnce) {
  CpuExecutor executor(tiny_weights(), {.threads = 1, .kv_blocks = 64, .block_tokens = 16});
  Scheduler scheduler(executor, {.max_batch_tokens = 512, .max_seqs = 8, .ctx_size = 1024}, {});
  scheduler.add(request(1, 100, 50));
  scheduler.add(request(2, 30, 50));
  StepReport report;
  scheduler.step(report);
  EXPECT_EQ(scheduler.running(), 2u);
  EXPECT_LT(scheduler.blocks().free_blocks(), 64u);
  scheduler.cancel(1);
  scheduler.cancel(42);  // unknown: ignored
  EXPECT_EQ(scheduler.running(), 1u);
  scheduler.cancel(2);
  EXPECT_TRUE(scheduler.idle());
  EXPECT_EQ(scheduler.blocks().free_blocks(), 64u);
  scheduler.step(report);
  EXPECT_TRUE(report.events.empty());
}

TEST(Scheduler, StopTokensAndTheContextEndASequence) {
  const Outcome free_run = alone(request(1, 8, 10));
  ASSERT_EQ(free_run.tokens.size(), 10u);
  // Stop at the third token's id: the event carries it and says stop.
  GenerationRequest stopping = request(1, 8, 10);
  stopping.sampling.stop_token_ids = {free_run.tokens[2]};
  const Outcome stopped = alone(stopping);
  const auto first = std::find(free_run.tokens.begin(), free_run.tokens.end(), free_run.tokens[2]);
  EXPECT_EQ(stopped.tokens, std::vector<TokenId>(free_run.tokens.begin(), first + 1));
  EXPECT_EQ(stopped.finish, Finish::stop);

  // End of generation tokens count unless ignore_eos.
  CpuExecutor executor(tiny_weights(), {.threads = 1, .kv_blocks = 64});
  Scheduler eos(executor, {.max_batch_tokens = 64, .max_seqs = 2, .ctx_size = 1024}, {free_run.tokens[0]});
  GenerationRequest honours = request(1, 8, 10);
  honours.sampling.ignore_eos = false;
  eos.add(honours);
  EXPECT_EQ(run_all(eos)[1].tokens, std::vector<TokenId>{free_run.tokens[0]});

  // A context of 12: an 8-token prompt gets 4 tokens, then "length".
  Scheduler small(executor, {.max_batch_tokens = 64, .max_seqs = 2, .ctx_size = 12}, {});
  small.add(request(1, 8, 100));
  const Outcome clamped = run_all(small)[1];
  EXPECT_EQ(clamped.tokens.size(), 4u);
  EXPECT_EQ(clamped.finish, Finish::length);
}

TEST(Scheduler, RejectsWhatCanNeverRun) {
  CpuExecutor executor(tiny_weights(), {.threads = 1, .kv_blocks = 4, .block_tokens = 16});
  Scheduler scheduler(executor, {.max_batch_tokens = 64, .max_seqs = 2, .ctx_size = 32}, {});
  EXPECT_THROW(scheduler.add(request(1, 0, 5)), std::invalid_argument);
  EXPECT_THROW(scheduler.add(request(2, 32, 5)), std::invalid_argument);  // no room to generate
  scheduler.add(request(3, 31, 5));                                        // one token fits
  const auto out = run_all(scheduler);
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
    const Outcome plain = alone(unscored);
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
  EXPECT_EQ(scheduler.blocks().free_blocks(), 64u);
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
  uint32_t preemptions = 0;
  StepReport report;
  std::map<uint64_t, std::vector<sampler::Sampled>> scores;
  while (!scheduler.idle()) {
    scheduler.step(report);
    preemptions += report.preemptions;
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
