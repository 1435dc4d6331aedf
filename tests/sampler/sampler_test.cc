// The sampler end to end: greedy, seeds, the distribution it draws from,
// truncation, logit bias, penalties through accept(), and logprobs.
#include "core/sampler/sampler.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <random>
#include <set>
#include <vector>

#include "tests/sampler/logits_from_probs.h"

namespace rs::sampler {
namespace {

// Samples a fresh copy of `logits` (sample() overwrites its row).
Sampled sample_row(Sampler& sampler, const std::vector<float>& logits) {
  std::vector<float> row = logits;
  return sampler.sample(row);
}

std::vector<TokenId> draws(const SamplingParams& params, const std::vector<float>& logits, size_t n) {
  Sampler sampler(params, {});
  std::vector<TokenId> tokens;
  for (size_t i = 0; i < n; ++i) tokens.push_back(sample_row(sampler, logits).token);
  return tokens;
}

std::set<TokenId> drawn_set(const SamplingParams& params, const std::vector<float>& logits, size_t n = 5000) {
  const std::vector<TokenId> tokens = draws(params, logits, n);
  return {tokens.begin(), tokens.end()};
}

SamplingParams seeded(uint64_t seed) {
  SamplingParams p;
  p.seed = seed;
  return p;
}

// Pearson's statistic of `tokens` against `probs`.
double chi_square(const std::vector<TokenId>& tokens, const std::vector<double>& probs) {
  std::vector<double> counts(probs.size());
  for (const TokenId t : tokens) counts.at(size_t(t)) += 1;
  double chi = 0;
  for (size_t i = 0; i < probs.size(); ++i) {
    const double expected = probs[i] * double(tokens.size());
    chi += (counts[i] - expected) * (counts[i] - expected) / expected;
  }
  return chi;
}

std::vector<double> softmax(const std::vector<float>& logits, double temperature) {
  std::vector<double> probs;
  double total = 0;
  for (const float l : logits) total += std::exp(l / temperature);
  for (const float l : logits) probs.push_back(std::exp(l / temperature) / total);
  return probs;
}

std::vector<float> random_logits(std::mt19937_64& rng, size_t n) {
  std::normal_distribution<float> normal(0, 2);
  std::vector<float> logits(n);
  for (float& l : logits) l = normal(rng);
  return logits;
}

TEST(Sampler, GreedyPicksTheArgmaxAndTheLowestIdOnTies) {
  SamplingParams p;
  p.temperature = 0;
  Sampler sampler(p, {});
  EXPECT_EQ(sample_row(sampler, {1, 5, 2, 4}).token, 1);
  EXPECT_EQ(sample_row(sampler, {1, 5, 5, 2}).token, 1);
  EXPECT_EQ(sample_row(sampler, {7, 7, 7}).token, 0);
  EXPECT_EQ(sample_row(sampler, {-3, -1, -2}).token, 1);
}

TEST(Sampler, TemperatureZeroIsGreedyWhateverElseIsSet) {
  std::mt19937_64 rng(1);
  SamplingParams p;
  p.temperature = 0;
  p.top_p = 0.5f;
  p.min_p = 0.2f;
  p.seed = 3;
  Sampler sampler(p, {});
  for (int i = 0; i < 50; ++i) {
    std::vector<float> logits = random_logits(rng, 1000);
    logits[999] = logits[17] = 100;  // a tie at the top
    EXPECT_EQ(sample_row(sampler, logits).token, 17);
  }
}

TEST(Sampler, TopKOneIsGreedyAtAnyTemperature) {
  std::mt19937_64 rng(2);
  SamplingParams greedy;
  greedy.temperature = 0;
  Sampler expected(greedy, {});
  for (const float temperature : {0.1f, 1.0f, 2.0f}) {
    SamplingParams p;
    p.temperature = temperature;
    p.top_k = 1;
    Sampler sampler(p, {});
    for (int i = 0; i < 50; ++i) {
      std::vector<float> logits = random_logits(rng, 1000);
      if (i % 2 == 0) logits[500] = logits[40] = 100;  // ties go to the lower id here too
      EXPECT_EQ(sample_row(sampler, logits).token, sample_row(expected, logits).token);
    }
  }
}

TEST(Sampler, ASeedGivesTheSameTokensAndAnotherSeedOthers) {
  const std::vector<float> flat(1000, 0.0f);
  const std::vector<TokenId> first = draws(seeded(42), flat, 200);
  EXPECT_EQ(draws(seeded(42), flat, 200), first);
  EXPECT_NE(draws(seeded(43), flat, 200), first);
  // Without a seed, every sequence gets its own.
  EXPECT_NE(draws({}, flat, 200), draws({}, flat, 200));
}

TEST(Sampler, ASeededSequenceIgnoresTheRestOfTheBatch) {
  std::mt19937_64 rng(3);
  std::vector<std::vector<float>> rows;
  for (int i = 0; i < 100; ++i) rows.push_back(random_logits(rng, 500));

  Sampler alone(seeded(9), {});
  std::vector<TokenId> expected;
  for (const auto& row : rows) expected.push_back(sample_row(alone, row).token);

  Sampler sampler(seeded(9), {});
  Sampler neighbour(seeded(9), {});
  Sampler unseeded({}, {});
  std::vector<TokenId> got;
  for (const auto& row : rows) {
    sample_row(neighbour, row);
    sample_row(unseeded, rows.front());
    got.push_back(sample_row(sampler, row).token);
    sample_row(neighbour, rows.back());
  }
  EXPECT_EQ(got, expected);
}

TEST(Sampler, DrawsFollowTheSoftmax) {
  // Chi-square with 3 degrees of freedom: 16.27 is exceeded with probability 0.001.
  const std::vector<float> logits = {0, 1, 2, 0.5f};
  for (const float temperature : {1.0f, 0.7f, 1.8f}) {
    SamplingParams p = seeded(11);
    p.temperature = temperature;
    EXPECT_LT(chi_square(draws(p, logits, 100000), softmax(logits, temperature)), 16.27) << temperature;
  }
}

TEST(Sampler, DrawsFollowTheTruncatedSoftmax) {
  // Top-k 3 drops token 0; the other three renormalize (2 degrees of freedom: 13.82).
  const std::vector<float> logits = {0, 1, 2, 0.5f};
  SamplingParams p = seeded(12);
  p.top_k = 3;
  p.temperature = 0.8f;
  std::vector<double> probs = softmax({-INFINITY, 1, 2, 0.5f}, 0.8);
  probs[0] = 1e-300;  // never drawn: contributes nothing
  const std::vector<TokenId> tokens = draws(p, logits, 100000);
  EXPECT_EQ(std::count(tokens.begin(), tokens.end(), 0), 0);
  EXPECT_LT(chi_square(tokens, probs), 13.82);
}

TEST(Sampler, TruncationKeepsExactlyTheExpectedTokens) {
  // Probabilities 0.1, 0.4, 0.2, 0.3.
  const std::vector<float> logits = from_probs({0.1, 0.4, 0.2, 0.3});
  // Truncation comes before temperature: a hot temperature draws from the same set.
  for (const float temperature : {0.5f, 1.0f, 2.0f}) {
    SamplingParams p = seeded(5);
    p.temperature = temperature;
    p.top_p = 0.65f;
    EXPECT_EQ(drawn_set(p, logits), (std::set<TokenId>{1, 3})) << temperature;
    p.top_p = 0.75f;
    EXPECT_EQ(drawn_set(p, logits), (std::set<TokenId>{1, 2, 3})) << temperature;
    p.top_p = 1;
    p.min_p = 0.6f;  // at least 0.24
    EXPECT_EQ(drawn_set(p, logits), (std::set<TokenId>{1, 3})) << temperature;
    p.min_p = 0.3f;  // at least 0.12
    EXPECT_EQ(drawn_set(p, logits), (std::set<TokenId>{1, 2, 3})) << temperature;
    p.min_p = 0;
    p.top_k = 2;
    EXPECT_EQ(drawn_set(p, logits), (std::set<TokenId>{1, 3})) << temperature;
    p.top_k = 0;
    EXPECT_EQ(drawn_set(p, logits), (std::set<TokenId>{0, 1, 2, 3})) << temperature;
  }
}

TEST(Sampler, TruncationsCompose) {
  // Top-k 3 keeps 0.4, 0.3, 0.2 (renormalized 4/9, 3/9, 2/9); top-p 0.7 then
  // keeps 4/9 + 3/9; min-p 0.8 of 4/9 then drops 3/9.
  const std::vector<float> logits = from_probs({0.1, 0.4, 0.2, 0.3});
  SamplingParams p = seeded(6);
  p.top_k = 3;
  p.top_p = 0.7f;
  EXPECT_EQ(drawn_set(p, logits), (std::set<TokenId>{1, 3}));
  p.min_p = 0.8f;
  EXPECT_EQ(drawn_set(p, logits), (std::set<TokenId>{1}));
}

TEST(Sampler, LogitBiasBansAndForces) {
  SamplingParams p = seeded(8);
  p.logit_bias = {{1, -100}};
  EXPECT_EQ(drawn_set(p, {0, 0, 0}, 20000), (std::set<TokenId>{0, 2}));
  p.logit_bias = {{2, 100}};
  EXPECT_EQ(drawn_set(p, {5, 0, 0}, 20000), (std::set<TokenId>{2}));
  p.temperature = 0;
  EXPECT_EQ(drawn_set(p, {5, 0, 0}, 1), (std::set<TokenId>{2}));
  p.logit_bias = {{0, -100}};
  EXPECT_EQ(drawn_set(p, {5, 0, 0}, 1), (std::set<TokenId>{1}));
}

TEST(Sampler, LogitBiasIsClampedToOpenAIsRange) {
  SamplingParams p;
  p.temperature = 0;
  p.logprobs = true;
  p.top_logprobs = 2;
  p.logit_bias = {{0, 1e6f}};
  Sampler sampler(p, {});
  const Sampled s = sample_row(sampler, {0, 0});
  ASSERT_EQ(s.top.size(), 2u);
  EXPECT_EQ(s.top[1].first, 1);
  EXPECT_NEAR(s.top[1].second, -100.0f, 1e-3);
}

TEST(Sampler, AcceptedTokensArePenalized) {
  SamplingParams p;
  p.temperature = 0;
  p.frequency_penalty = 0.4f;
  Sampler sampler(p, {});
  const std::vector<float> logits = {1, 0.5f, 0};
  EXPECT_EQ(sample_row(sampler, logits).token, 0);
  sampler.accept(0);  // 1 - 0.4 = 0.6: still the best
  EXPECT_EQ(sample_row(sampler, logits).token, 0);
  sampler.accept(0);  // 1 - 0.8 = 0.2
  EXPECT_EQ(sample_row(sampler, logits).token, 1);
}

TEST(Sampler, RepetitionPenaltyCountsThePrompt) {
  SamplingParams p;
  p.temperature = 0;
  p.repetition_penalty = 2.5f;
  const std::vector<TokenId> prompt = {0, 0, 3};
  Sampler sampler(p, prompt);
  EXPECT_EQ(sample_row(sampler, {2, 1, 0, 2.2f}).token, 1);  // 2 / 2.5 = 0.8 and 2.2 / 2.5 = 0.88
}

TEST(Sampler, LogprobsAreTheLogSoftmaxBeforeTemperatureAndTruncation) {
  const std::vector<float> logits = {1, 2, 3, 0};
  const double lse = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0) + std::exp(0.0));
  for (const float temperature : {0.0f, 0.5f, 1.5f}) {
    SamplingParams p = seeded(4);
    p.temperature = temperature;
    p.top_k = 2;
    p.logprobs = true;
    p.top_logprobs = 3;
    Sampler sampler(p, {});
    for (int i = 0; i < 20; ++i) {
      const Sampled s = sample_row(sampler, logits);
      ASSERT_TRUE(s.token == 1 || s.token == 2);
      EXPECT_NEAR(s.logprob, logits[size_t(s.token)] - lse, 1e-6);
      ASSERT_EQ(s.top.size(), 3u);
      EXPECT_EQ(s.top[0].first, 2);
      EXPECT_NEAR(s.top[0].second, 3 - lse, 1e-6);
      EXPECT_EQ(s.top[1].first, 1);
      EXPECT_NEAR(s.top[1].second, 2 - lse, 1e-6);
      EXPECT_EQ(s.top[2].first, 0);
      EXPECT_NEAR(s.top[2].second, 1 - lse, 1e-6);
    }
  }
}

TEST(Sampler, LogprobsTiesListTheLowerIdFirst) {
  SamplingParams p;
  p.temperature = 0;
  p.logprobs = true;
  p.top_logprobs = 2;
  Sampler sampler(p, {});
  const Sampled s = sample_row(sampler, {0, 1, 0, 1});
  EXPECT_EQ(s.token, 1);
  ASSERT_EQ(s.top.size(), 2u);
  EXPECT_EQ(s.top[0].first, 1);
  EXPECT_EQ(s.top[1].first, 3);
  EXPECT_NEAR(s.top[0].second, std::log(1 / (2 + 2 * std::exp(-1.0))), 1e-6);
}

TEST(Sampler, LogprobsOnlyWhenAskedFor) {
  Sampler sampler(seeded(1), {});
  const Sampled s = sample_row(sampler, {1, 2, 3});
  EXPECT_EQ(s.logprob, 0);
  EXPECT_TRUE(s.top.empty());

  SamplingParams p = seeded(1);
  p.logprobs = true;  // the chosen token's only
  Sampler with(p, {});
  const Sampled t = sample_row(with, {1, 2, 3});
  EXPECT_LT(t.logprob, 0);
  EXPECT_TRUE(t.top.empty());
}

TEST(Sampler, BiasComesBeforeThePenalties) {
  // llama.cpp and vLLM: (2 + 2) / 2 = 2 for token 0, not 2 / 2 + 2 = 3.
  SamplingParams p;
  p.temperature = 0;
  p.repetition_penalty = 2;
  p.logit_bias = {{0, 2}};
  p.logprobs = true;
  const std::vector<TokenId> prompt = {0};
  Sampler sampler(p, prompt);
  std::vector<float> row = {2, 0};
  const Sampled s = sampler.sample(row);
  EXPECT_EQ(row, (std::vector<float>{2, 0}));  // the row holds the biased, penalized logits
  EXPECT_EQ(s.token, 0);
  EXPECT_NEAR(s.logprob, 2 - std::log(std::exp(2.0) + 1), 1e-6);
}

TEST(Sampler, NaNLogitsAreNeverChosen) {
  const std::vector<float> logits = {NAN, 0, 0, NAN};
  EXPECT_EQ(drawn_set(seeded(2), logits, 2000), (std::set<TokenId>{1, 2}));
  SamplingParams p = seeded(2);
  p.top_p = 0.9f;
  p.min_p = 0.1f;
  EXPECT_EQ(drawn_set(p, logits, 2000), (std::set<TokenId>{1, 2}));
  p.temperature = 0;
  EXPECT_EQ(drawn_set(p, logits, 1), (std::set<TokenId>{1}));
}

}  // namespace
}  // namespace rs::sampler
