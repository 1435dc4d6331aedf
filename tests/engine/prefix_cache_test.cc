// The prefix cache through the scheduler: a hit gives exactly the tokens and
// logprobs of a cold run, whatever the prompts share; held blocks are never
// evicted; salts keep caches apart; every block is let go in the end.
#include <gtest/gtest.h>

#include <map>
#include <vector>

#include "core/engine/scheduler.h"
#include "tests/engine/tiny_model.h"

namespace rs::engine {
namespace {

using testing::request;
using testing::tiny_weights;

constexpr uint32_t kBlock = 4;
constexpr PrefixCaching kCaching{true, 0x5eed};

// What one request got: tokens, logprobs and the cached tokens its first event reported.
struct Outcome {
  std::vector<TokenId> tokens;
  std::vector<float> logprobs;
  uint32_t cached_tokens = 0;
  bool operator==(const Outcome&) const = default;
};

class PrefixCache : public ::testing::Test {
 protected:
  cpu::CpuExecutor executor_{tiny_weights(), {.threads = 1, .kv_blocks = 64, .block_tokens = kBlock}};
  Scheduler scheduler_{executor_, {.max_batch_tokens = 64, .max_seqs = 4, .ctx_size = 1024}, {}, kCaching};

  static void record(const StepReport& report, std::map<uint64_t, Outcome>& runs) {
    for (const TokenEvent& e : report.events) {
      Outcome& r = runs[e.request];
      if (r.tokens.empty()) r.cached_tokens = e.cached_tokens;
      r.tokens.push_back(e.token);
      r.logprobs.push_back(e.logprob);
    }
  }
  // Runs the scheduler until idle; each request's run, after what `runs` holds already.
  static std::map<uint64_t, Outcome> run(Scheduler& scheduler, std::map<uint64_t, Outcome> runs = {}) {
    StepReport report;
    while (!scheduler.idle()) {
      scheduler.step(report);
      record(report, runs);
    }
    return runs;
  }
  Outcome cold(const GenerationRequest& r) {
    cpu::CpuExecutor executor(tiny_weights(), {.threads = 1, .kv_blocks = 64, .block_tokens = kBlock});
    Scheduler fresh(executor, {.max_batch_tokens = 64, .max_seqs = 4, .ctx_size = 1024}, {}, kCaching);
    fresh.add(r);
    return run(fresh)[r.id];
  }
};

GenerationRequest with_prompt(uint64_t id, std::vector<TokenId> prompt, uint32_t max_tokens, bool seeded) {
  GenerationRequest r = request(id, 1, max_tokens, seeded ? std::optional<uint64_t>(id * 7) : std::nullopt);
  r.prompt = std::move(prompt);
  r.sampling.logprobs = true;
  return r;
}

std::vector<TokenId> tokens(uint32_t n, uint32_t seed) {
  std::vector<TokenId> out;
  for (uint32_t i = 0; i < n; ++i) out.push_back(TokenId((seed * 37 + i * 11) % 250 + 1));
  return out;
}

// A second prompt sharing `shared` tokens with the first: 0, less than a block, blocks, a whole prompt, a
// whole prompt that is whole blocks, one token past a block edge.
TEST_F(PrefixCache, AHitGivesExactlyTheTokensAndLogprobsOfAColdRun) {
  struct Case {
    uint32_t shared, first_length, second_length, expected_cached;
  };
  const Case cases[] = {
      {0, 12, 12, 0},   {3, 12, 12, 0},  {8, 12, 12, 8},   {12, 12, 12, 8},  // whole prompt: its last block computed
      {13, 13, 13, 12}, {9, 16, 17, 8},  {16, 16, 17, 16}, {5, 9, 9, 4},
  };
  uint64_t id = 1;
  for (const Case& c : cases) {
    for (const bool seeded : {false, true}) {
      std::vector<TokenId> first = tokens(c.first_length, uint32_t(id));
      std::vector<TokenId> second(first.begin(), first.begin() + c.shared);
      const std::vector<TokenId> rest = tokens(c.second_length - c.shared, uint32_t(id) + 1);
      second.insert(second.end(), rest.begin(), rest.end());
      const GenerationRequest a = with_prompt(id++, first, 6, seeded);
      const GenerationRequest b = with_prompt(id++, second, 6, seeded);
      scheduler_.add(a);
      run(scheduler_);
      scheduler_.add(b);
      Outcome warm = run(scheduler_)[b.id];
      EXPECT_EQ(warm.cached_tokens, c.expected_cached) << "shared " << c.shared << ", seeded " << seeded;
      Outcome expected = cold(b);
      EXPECT_EQ(expected.cached_tokens, 0u);
      expected.cached_tokens = warm.cached_tokens;
      EXPECT_EQ(warm, expected) << "shared " << c.shared << ", seeded " << seeded;
    }
  }
  EXPECT_EQ(scheduler_.kv_cache().used_blocks(), 0u);  // every block let go; the cached ones evictable
  EXPECT_GT(scheduler_.kv_cache().cached_blocks(), 0u);
}

TEST_F(PrefixCache, ConcurrentSequencesShareBlocksAndTheLastLetsGo) {
  const std::vector<TokenId> preamble = tokens(16, 3);
  scheduler_.add(with_prompt(1, preamble, 1, false));
  run(scheduler_);
  std::vector<GenerationRequest> many;
  for (uint64_t id = 2; id <= 5; ++id) {
    std::vector<TokenId> prompt = preamble;
    prompt.push_back(TokenId(id));
    many.push_back(with_prompt(id, prompt, 8, true));
    scheduler_.add(many.back());
  }
  StepReport report;
  scheduler_.step(report);  // all four admitted: the preamble's 4 blocks held by each, 1 block of its own
  ASSERT_EQ(report.admitted.size(), 4u);
  for (const Admitted& a : report.admitted) EXPECT_EQ(a.cached_tokens, 16u);
  EXPECT_EQ(scheduler_.kv_cache().used_blocks(), 4u + 4);  // the shared 4, and a block of its own each
  std::map<uint64_t, Outcome> runs;
  record(report, runs);
  runs = run(scheduler_, std::move(runs));
  for (const GenerationRequest& r : many) {
    Outcome expected = cold(r);
    expected.cached_tokens = 16;
    EXPECT_EQ(runs.at(r.id), expected) << r.id;
  }
  EXPECT_EQ(scheduler_.kv_cache().used_blocks(), 0u);
}

TEST_F(PrefixCache, CacheSaltsNeverShareABlock) {
  const std::vector<TokenId> prompt = tokens(13, 5);
  GenerationRequest a = with_prompt(1, prompt, 2, false), b = with_prompt(2, prompt, 2, false);
  GenerationRequest c = with_prompt(3, prompt, 2, false);
  a.cache_salt = "tenant-a";
  b.cache_salt = "tenant-b";
  c.cache_salt = "tenant-a";
  scheduler_.add(a);
  run(scheduler_);
  scheduler_.add(b);
  EXPECT_EQ(run(scheduler_)[2].cached_tokens, 0u);
  scheduler_.add(c);
  EXPECT_EQ(run(scheduler_)[3].cached_tokens, 12u);
  GenerationRequest unsalted = with_prompt(4, prompt, 2, false);
  scheduler_.add(unsalted);
  EXPECT_EQ(run(scheduler_)[4].cached_tokens, 0u);
}

TEST_F(PrefixCache, PromptLogprobsAreComputedNotTaken) {
  const std::vector<TokenId> prompt = tokens(13, 9);
  scheduler_.add(with_prompt(1, prompt, 1, false));
  run(scheduler_);
  GenerationRequest scored = with_prompt(2, prompt, 1, false);
  scored.prompt_logprobs = true;
  scheduler_.add(scored);
  StepReport report;
  std::vector<sampler::Sampled> scores;
  while (!scheduler_.idle()) {
    scheduler_.step(report);
    for (TokenEvent& e : report.events) {
      EXPECT_EQ(e.cached_tokens, 0u);
      scores = std::move(e.prompt);
    }
  }
  EXPECT_EQ(scores.size(), prompt.size() - 1);
}

// Under pool pressure: cached blocks nobody holds are evicted, least recently used first; held ones never.
TEST_F(PrefixCache, EvictionTakesOnlyBlocksNobodyHolds) {
  cpu::CpuExecutor small(tiny_weights(), {.threads = 1, .kv_blocks = 16, .block_tokens = kBlock});
  Scheduler scheduler(small, {.max_batch_tokens = 64, .max_seqs = 4, .ctx_size = 1024}, {}, kCaching);
  scheduler.add(with_prompt(100, tokens(12, 99), 1, false));  // 3 cached blocks nobody will hold
  const std::vector<TokenId> kept = tokens(16, 21);
  scheduler.add(with_prompt(1, kept, 1, false));  // 4 more
  run(scheduler);
  EXPECT_EQ(scheduler.kv_cache().cached_blocks(), 7u);
  std::vector<TokenId> held = kept;
  held.push_back(7);
  const GenerationRequest holder = with_prompt(2, held, 20, true);  // holds the 4 while it runs
  scheduler.add(holder);
  StepReport report;
  scheduler.step(report);
  ASSERT_EQ(report.admitted.size(), 1u);
  EXPECT_EQ(report.admitted[0].cached_tokens, 16u);
  std::map<uint64_t, Outcome> runs;
  record(report, runs);
  // The holder has 9 blocks (4 shared), 4 are free: these need more, while it still runs.
  for (uint64_t id = 3; id <= 6; ++id) scheduler.add(with_prompt(id, tokens(12, uint32_t(id)), 2, false));
  runs = run(scheduler, std::move(runs));
  EXPECT_GT(scheduler.kv_cache().evictions(), 0u);
  for (uint64_t id = 3; id <= 6; ++id) {
    Outcome expected = cold(with_prompt(id, tokens(12, uint32_t(id)), 2, false));
    expected.cached_tokens = runs[id].cached_tokens;
    EXPECT_EQ(runs[id], expected) << id;
  }
  Outcome expected = cold(holder);
  expected.cached_tokens = 16;
  EXPECT_EQ(runs[2], expected);
  EXPECT_EQ(scheduler.kv_cache().used_blocks(), 0u);
}

// A preempted sequence comes back through the cache: its own full blocks, not a recompute of them. The same
// requests with the cache and without it get the same tokens; with it, fewer tokens are run.
TEST_F(PrefixCache, APreemptedSequenceTakesItsOwnCachedBlocks) {
  std::vector<GenerationRequest> requests;
  for (uint64_t id = 1; id <= 4; ++id) requests.push_back(with_prompt(id, tokens(20, uint32_t(id) * 13), 24, true));
  const auto run_all = [&](bool caching, uint64_t& tokens_run, uint32_t& preemptions) {
    cpu::CpuExecutor small(tiny_weights(), {.threads = 1, .kv_blocks = 16, .block_tokens = kBlock});
    Scheduler scheduler(small, {.max_batch_tokens = 64, .max_seqs = 6, .ctx_size = 1024}, {},
                        {caching, kCaching.salt});
    for (const GenerationRequest& r : requests) scheduler.add(r);
    std::map<uint64_t, Outcome> runs;
    StepReport report;
    while (!scheduler.idle()) {
      scheduler.step(report);
      preemptions += uint32_t(report.preempted.size());
      tokens_run += report.batch_tokens;
      for (const TokenEvent& e : report.events) {
        runs[e.request].tokens.push_back(e.token);
        runs[e.request].logprobs.push_back(e.logprob);
      }
    }
    EXPECT_EQ(scheduler.kv_cache().used_blocks(), 0u);
    return runs;
  };
  uint64_t with_cache = 0, without_cache = 0;
  uint32_t preemptions = 0, preemptions_without = 0;
  const std::map<uint64_t, Outcome> cached = run_all(true, with_cache, preemptions);
  const std::map<uint64_t, Outcome> uncached = run_all(false, without_cache, preemptions_without);
  EXPECT_GT(preemptions, 0u) << "the pool was meant to run out";
  EXPECT_EQ(cached, uncached);
  EXPECT_LT(with_cache, without_cache);
}

}  // namespace
}  // namespace rs::engine
