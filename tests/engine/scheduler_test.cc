// Continuous batching: whatever else shares a step (other sequences, prompt
// chunks of any size, preemption and recompute), each request gets exactly
// the tokens it gets alone; the limits hold; cancelled and finished
// sequences give their blocks back.
#include "core/engine/scheduler.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>

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

}  // namespace
}  // namespace rs::engine
