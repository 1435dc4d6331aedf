// DeviceSampler against the CPU sampler (core/sampler): greedy tokens and
// logprobs, the row that bias and penalties leave, the kept sets of top-k,
// top-p and min-p with ties at the cut, the distribution of the draws, and a
// seed's tokens whatever shares the batch. Skipped where no CUDA device is visible.
#include "gpu/sampling.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "core/sampler/sampler.h"
#include "core/sampler/truncation.h"
#include "tests/gpu/device_copy.h"

namespace rs::gpu {
namespace {

using sampler::Candidate;
using sampler::Sampled;
using sampler::Sampler;
using sampler::SamplingParams;
using sampler::TokenId;

class DeviceSampling : public testing::Test {
 protected:
  void SetUp() override { RS_SKIP_WITHOUT_CUDA_DEVICE(); }
};

// One sequence's row of a step: its request and what it has seen so far.
struct Sequence {
  SamplingParams params;
  std::vector<TokenId> prompt;
  std::vector<TokenId> generated;  // accepted before this step
  uint64_t draw = 0;
};

// A step's rows, bias entries and seen tokens, as the engine would build them.
struct Step {
  std::vector<SamplingRow> rows;
  std::vector<BiasEntry> bias;
  std::vector<SeenToken> seen;
};

Step build_step(const std::vector<Sequence>& sequences) {
  Step step;
  for (const Sequence& s : sequences) {
    const SamplingParams& p = s.params;
    SamplingRow row;
    row.temperature = p.temperature;
    row.top_k = p.top_k;
    row.top_p = p.top_p;
    row.min_p = p.min_p;
    row.repetition_penalty = p.repetition_penalty;
    row.presence_penalty = p.presence_penalty;
    row.frequency_penalty = p.frequency_penalty;
    row.seed = p.seed.value_or(0);
    row.draw = s.draw;
    row.logprobs = p.logprobs;
    row.top_logprobs = p.top_logprobs;
    row.bias_begin = uint32_t(step.bias.size());
    for (const auto& [token, value] : p.logit_bias) step.bias.push_back({token, value});
    row.bias_count = uint32_t(step.bias.size()) - row.bias_begin;
    std::map<TokenId, SeenToken> seen;
    for (const TokenId t : s.prompt) seen[t] = {t, seen[t].generated, true};
    for (const TokenId t : s.generated) seen[t] = {t, seen[t].generated + 1, seen[t].in_prompt};
    row.seen_begin = uint32_t(step.seen.size());
    for (const auto& [token, entry] : seen) step.seen.push_back(entry);
    row.seen_count = uint32_t(step.seen.size()) - row.seen_begin;
    step.rows.push_back(row);
  }
  return step;
}

struct DeviceResult {
  std::vector<Sampled> sampled;
  std::vector<float> logits;  // the rows as the sampler left them
};

// Samples `logits` (rows × vocab) on the device; the results start poisoned.
DeviceResult sample_on_device(DeviceSampler& sampler, const std::vector<float>& logits, const Step& step) {
  const DeviceCopy<float> device_logits(logits);
  const Sampled poison{-7, std::numeric_limits<float>::quiet_NaN(), {{-7, 0.0f}}};
  std::vector<Sampled> out(step.rows.size(), poison);
  sampler.sample(device_logits.get(), step.rows, step.bias, step.seen, out, nullptr);
  return {out, device_logits.to_host()};
}

// The CPU sampler on a copy of `row`, which it overwrites as the GPU should.
Sampled sample_on_cpu(const Sequence& s, std::vector<float>& row) {
  Sampler sampler(s.params, s.prompt);
  for (const TokenId t : s.generated) sampler.accept(t);
  return sampler.sample(row);
}

std::vector<float> random_logits(std::mt19937_64& rng, size_t n, float spread) {
  std::normal_distribution<float> normal(0, spread);
  std::vector<float> logits(n);
  for (float& l : logits) l = normal(rng);
  return logits;
}

std::vector<float> row_of(const std::vector<float>& logits, size_t vocab, size_t r) {
  return {logits.begin() + ptrdiff_t(r * vocab), logits.begin() + ptrdiff_t((r + 1) * vocab)};
}

// Token ids from best to worst (ranks_before).
std::vector<TokenId> ranked(const std::vector<float>& logits) {
  std::vector<TokenId> ids(logits.size());
  for (size_t i = 0; i < ids.size(); ++i) ids[i] = TokenId(i);
  std::sort(ids.begin(), ids.end(), [&](TokenId a, TokenId b) {
    return sampler::ranks_before({logits[size_t(a)], a}, {logits[size_t(b)], b});
  });
  return ids;
}

// The CPU's kept set, as Sampler::draw builds it.
std::set<TokenId> cpu_kept(const std::vector<float>& logits, const SamplingParams& p) {
  std::vector<Candidate> candidates;
  for (size_t i = 0; i < logits.size(); ++i) candidates.push_back({logits[i], TokenId(i)});
  std::span<Candidate> kept(candidates);
  kept = kept.first(sampler::keep_top_k(kept, size_t(p.top_k)));
  kept = kept.first(sampler::keep_top_p(kept, p.top_p));
  kept = kept.first(sampler::keep_min_p(kept, p.min_p));
  std::set<TokenId> ids;
  for (const Candidate& c : kept) ids.insert(c.id);
  return ids;
}

double log_sum_exp(const std::vector<float>& logits) {
  const float max = *std::max_element(logits.begin(), logits.end());
  double sum = 0;
  for (const float l : logits) sum += std::exp(double(l) - max);
  return max + std::log(sum);
}

void expect_same_logprobs(const Sampled& got, const Sampled& want, const std::string& what) {
  EXPECT_NEAR(got.logprob, want.logprob, 1e-5) << what;
  ASSERT_EQ(got.top.size(), want.top.size()) << what;
  for (size_t i = 0; i < want.top.size(); ++i) {
    EXPECT_EQ(got.top[i].first, want.top[i].first) << what << " top " << i;
    EXPECT_NEAR(got.top[i].second, want.top[i].second, 1e-5) << what << " top " << i;
  }
}

TEST_F(DeviceSampling, GreedyTokensAndLogprobsMatchTheCpu) {
  std::mt19937_64 rng(1);
  for (const size_t vocab : {1000, 32000, 150001}) {
    std::vector<Sequence> sequences(6);
    for (size_t r = 0; r < sequences.size(); ++r) {
      sequences[r].params.temperature = 0;
      sequences[r].params.logprobs = r > 0;
      sequences[r].params.top_logprobs = std::vector<int32_t>{0, 0, 1, 5, 20, 20}[r];
    }
    std::vector<float> logits = random_logits(rng, sequences.size() * vocab, 3);
    // The last row's best logit is shared by four tokens: the lowest id wins, the others follow in id order.
    float* tied = &logits[5 * vocab];
    const float best = *std::max_element(tied, tied + vocab) + 1;
    for (const size_t id : {vocab - 1, vocab / 2, size_t(7), vocab / 3}) tied[id] = best;

    DeviceSampler sampler(sequences.size(), vocab, 16);
    const DeviceResult device = sample_on_device(sampler, logits, build_step(sequences));
    ASSERT_EQ(device.sampled.size(), sequences.size());
    for (size_t r = 0; r < sequences.size(); ++r) {
      const std::string what = "vocab " + std::to_string(vocab) + " row " + std::to_string(r);
      std::vector<float> row = row_of(logits, vocab, r);
      const Sampled want = sample_on_cpu(sequences[r], row);
      EXPECT_EQ(device.sampled[r].token, want.token) << what;
      if (sequences[r].params.logprobs) {
        expect_same_logprobs(device.sampled[r], want, what);
      } else {
        EXPECT_EQ(device.sampled[r].logprob, 0.0f) << what;
        EXPECT_TRUE(device.sampled[r].top.empty()) << what;
      }
      EXPECT_EQ(row_of(device.logits, vocab, r), row) << what << ": no bias or penalty, the row is as it was";
    }
    EXPECT_EQ(device.sampled[5].token, 7);
  }
}

TEST_F(DeviceSampling, NanLogitsCountAsMinusInfinity) {
  constexpr size_t kVocab = 1000;
  std::mt19937_64 rng(2);
  std::vector<float> logits = random_logits(rng, kVocab, 2);
  for (const size_t id : {size_t(0), size_t(3), size_t(500)}) logits[id] = std::numeric_limits<float>::quiet_NaN();
  Sequence greedy, drawn;
  greedy.params.temperature = 0;
  greedy.params.logprobs = true;
  greedy.params.top_logprobs = 20;
  drawn.params.top_k = 50;
  drawn.params.seed = 3;
  DeviceSampler sampler(2, kVocab, 4);
  std::vector<float> both = logits;
  both.insert(both.end(), logits.begin(), logits.end());
  const DeviceResult device = sample_on_device(sampler, both, build_step({greedy, drawn}));

  std::vector<float> without_nan = logits;
  for (float& l : without_nan) l = std::isnan(l) ? -INFINITY : l;
  const Sampled want = sample_on_cpu(greedy, without_nan);
  EXPECT_EQ(device.sampled[0].token, want.token);
  expect_same_logprobs(device.sampled[0], want, "greedy");
  EXPECT_TRUE(cpu_kept(without_nan, drawn.params).contains(device.sampled[1].token));
  EXPECT_TRUE(std::isnan(device.logits[3])) << "the row keeps its NaNs, as the CPU's";
}

TEST_F(DeviceSampling, BiasAndPenaltiesLeaveTheCpuRow) {
  std::mt19937_64 rng(4);
  for (const size_t vocab : {1000, 32000}) {
    std::vector<Sequence> sequences(5);
    // Bias alone, clamped to [-100, 100]; a token outside the vocabulary is ignored.
    sequences[0].params.temperature = 0;
    sequences[0].params.logprobs = true;
    sequences[0].params.logit_bias = {{3, 5.5f}, {17, -150.0f}, {42, -0.25f}, {999, 120.0f}, {TokenId(vocab + 5), 9}};
    // Repetition over the prompt and generated tokens, a positive and a negative logit among them.
    sequences[1].params.repetition_penalty = 1.3f;
    sequences[1].params.seed = 11;
    sequences[1].prompt = {5, 9, 9, 200, 17};
    sequences[1].generated = {9, 300, 300, 301};
    // Presence and frequency over generated tokens only.
    sequences[2].params.presence_penalty = 0.5f;
    sequences[2].params.frequency_penalty = 0.3f;
    sequences[2].params.temperature = 0;
    sequences[2].prompt = {11, 50};
    sequences[2].generated = {11, 11, 11, 12, 400};
    // Everything at once, a token in the bias and the penalties both.
    sequences[3].params.logit_bias = {{11, 2.0f}, {50, -3.0f}, {12, 1.5f}};
    sequences[3].params.repetition_penalty = 0.8f;
    sequences[3].params.presence_penalty = -0.4f;
    sequences[3].params.frequency_penalty = 0.7f;
    sequences[3].params.top_k = 20;
    sequences[3].params.logprobs = true;
    sequences[3].params.top_logprobs = 3;
    sequences[3].params.seed = 12;
    sequences[3].prompt = {11, 50, 60};
    sequences[3].generated = {11, 12, 12, 70};
    // Nothing: the row stays as it is.
    sequences[4].params.temperature = 0;
    sequences[4].generated = {1, 2};

    std::vector<float> logits = random_logits(rng, sequences.size() * vocab, 3);
    for (size_t r = 0; r < sequences.size(); ++r) {
      logits[r * vocab + 9] = 2.5f;
      logits[r * vocab + 300] = -1.5f;
      logits[r * vocab + 11] = 0.75f;
      logits[r * vocab + 12] = -0.5f;
    }
    DeviceSampler sampler(sequences.size(), vocab, 64);
    const DeviceResult device = sample_on_device(sampler, logits, build_step(sequences));
    for (size_t r = 0; r < sequences.size(); ++r) {
      const std::string what = "vocab " + std::to_string(vocab) + " row " + std::to_string(r);
      std::vector<float> row = row_of(logits, vocab, r);
      const Sampled want = sample_on_cpu(sequences[r], row);
      const std::vector<float> got = row_of(device.logits, vocab, r);
      for (size_t i = 0; i < vocab; ++i) {
        ASSERT_NEAR(got[i], row[i], 1e-6 * std::max(1.0f, std::abs(row[i]))) << what << " token " << i;
      }
      if (sequences[r].params.temperature == 0) {
        EXPECT_EQ(device.sampled[r].token, want.token) << what;
      }
      if (sequences[r].params.logprobs) {
        const double lse = log_sum_exp(row);
        EXPECT_NEAR(device.sampled[r].logprob, row[size_t(device.sampled[r].token)] - lse, 1e-5) << what;
        ASSERT_EQ(device.sampled[r].top.size(), want.top.size()) << what;
        for (size_t i = 0; i < want.top.size(); ++i) EXPECT_EQ(device.sampled[r].top[i].first, want.top[i].first);
      }
    }
    EXPECT_EQ(row_of(device.logits, vocab, 4), row_of(logits, vocab, 4));
  }
}

TEST_F(DeviceSampling, TopKOfOneAndMinPOfOneAreGreedy) {
  constexpr size_t kVocab = 32000, kRows = 64;
  std::mt19937_64 rng(5);
  const std::vector<float> logits = random_logits(rng, kRows * kVocab, 2);
  std::vector<Sequence> sequences(kRows);
  for (size_t r = 0; r < kRows; ++r) {
    sequences[r].params.seed = 40 + r;
    sequences[r].draw = r * 1000;
    sequences[r].params.temperature = 1.5f;
    if (r % 2 == 0) {
      sequences[r].params.top_k = 1;
    } else {
      sequences[r].params.min_p = 1;
    }
  }
  DeviceSampler sampler(kRows, kVocab, 0);
  const DeviceResult device = sample_on_device(sampler, logits, build_step(sequences));
  for (size_t r = 0; r < kRows; ++r) {
    const std::vector<float> row = row_of(logits, kVocab, r);
    const auto best = std::max_element(row.begin(), row.end());
    EXPECT_EQ(device.sampled[r].token, TokenId(best - row.begin())) << "row " << r;
  }
}

// Logits with a run of ten equal values at ranks 10..19, the ids of the run spread over the vocabulary.
std::vector<float> logits_with_ties(std::mt19937_64& rng, size_t vocab) {
  std::vector<float> logits = random_logits(rng, vocab, 2);
  const std::vector<TokenId> order = ranked(logits);
  for (size_t rank = 11; rank < 20; ++rank) logits[size_t(order[rank])] = logits[size_t(order[10])];
  return logits;
}

// top_p putting the CPU's cut after the sixth of the ten tied values, half a value's weight from either side.
float top_p_cutting_ties(const std::vector<float>& logits) {
  const std::vector<TokenId> order = ranked(logits);
  const float max = logits[size_t(order[0])];
  double total = 0, before = 0;
  for (size_t rank = 0; rank < order.size(); ++rank) {
    const double weight = std::exp(logits[size_t(order[rank])] - max);  // float exp, as the CPU
    total += weight;
    if (rank < 10) before += weight;
  }
  const double tied = std::exp(logits[size_t(order[10])] - max);
  return float((before + 5.5 * tied) / total);
}

// Logits whose best is 0 and five of whose tokens sit exactly at min_p's threshold, one just below it.
std::vector<float> logits_at_min_p(std::mt19937_64& rng, size_t vocab, float min_p) {
  std::vector<float> logits = random_logits(rng, vocab, 1.5f);
  const std::vector<TokenId> order = ranked(logits);
  const float max = logits[size_t(order[0])];
  for (float& l : logits) l = std::min(l - max, -1e-3f);
  logits[size_t(order[0])] = 0;
  const float threshold = 0 + std::log(min_p);
  for (size_t rank = 3; rank < 8; ++rank) logits[size_t(order[rank])] = threshold;
  logits[size_t(order[8])] = std::nextafter(threshold, -INFINITY);
  return logits;
}

struct TruncationCase {
  std::string name;
  SamplingParams params;
  std::vector<float> logits;
};

TEST_F(DeviceSampling, DrawsStayInTheCpuKeptSetWithItsDistribution) {
  std::mt19937_64 rng(6);
  std::vector<TruncationCase> cases;
  const auto with = [](float temperature, int32_t top_k, float top_p, float min_p) {
    SamplingParams p;
    p.temperature = temperature;
    p.top_k = top_k;
    p.top_p = top_p;
    p.min_p = min_p;
    p.seed = 77;
    p.logprobs = true;
    return p;
  };
  cases.push_back({"top-k in a tie", with(0.7f, 15, 1, 0), logits_with_ties(rng, 1000)});
  {
    std::vector<float> logits = logits_with_ties(rng, 1000);
    cases.push_back({"top-p in a tie", with(0.7f, 0, top_p_cutting_ties(logits), 0), logits});
  }
  cases.push_back({"min-p at ties", with(1.3f, 0, 1, 0.3f), logits_at_min_p(rng, 1000, 0.3f)});
  {
    std::vector<float> logits = logits_with_ties(rng, 32000);
    cases.push_back({"top-k, top-p and min-p", with(0.9f, 17, 0.97f, 0.01f), logits});
    cases.push_back({"top-p alone on 32000", with(1.0f, 0, top_p_cutting_ties(logits), 0), logits});
  }

  constexpr size_t kRowsPerCall = 1000, kCalls = 4, kDraws = kRowsPerCall * kCalls;
  for (const TruncationCase& c : cases) {
    const size_t vocab = c.logits.size();
    const std::set<TokenId> kept = cpu_kept(c.logits, c.params);
    ASSERT_LT(kept.size(), vocab) << c.name;
    const double lse = log_sum_exp(c.logits);
    DeviceSampler sampler(kRowsPerCall, vocab, 0);
    std::vector<float> logits;
    for (size_t r = 0; r < kRowsPerCall; ++r) logits.insert(logits.end(), c.logits.begin(), c.logits.end());
    std::map<TokenId, size_t> counts;
    for (size_t call = 0; call < kCalls; ++call) {
      std::vector<Sequence> sequences(kRowsPerCall);
      for (size_t r = 0; r < kRowsPerCall; ++r) {
        sequences[r].params = c.params;
        sequences[r].draw = call * kRowsPerCall + r;
      }
      const DeviceResult device = sample_on_device(sampler, logits, build_step(sequences));
      for (const Sampled& s : device.sampled) {
        ASSERT_TRUE(kept.contains(s.token)) << c.name << ": token " << s.token << " is not in the CPU's set";
        ASSERT_NEAR(s.logprob, c.logits[size_t(s.token)] - lse, 1e-5) << c.name;
        ++counts[s.token];
      }
    }
    // The kept softmax at the temperature, and each count within 5 standard deviations of it.
    const float max = *std::max_element(c.logits.begin(), c.logits.end());
    double total = 0;
    for (const TokenId t : kept) total += std::exp((c.logits[size_t(t)] - max) / double(c.params.temperature));
    for (const TokenId t : kept) {
      const double p = std::exp((c.logits[size_t(t)] - max) / double(c.params.temperature)) / total;
      const double expected = p * kDraws, bound = 5 * std::sqrt(expected * (1 - p)) + 3;
      EXPECT_NEAR(double(counts[t]), expected, bound) << c.name << ": token " << t;
    }
  }
}

TEST_F(DeviceSampling, ASeedGivesTheSameTokensWhateverSharesTheBatch) {
  constexpr size_t kVocab = 32000, kRows = 8;
  std::mt19937_64 rng(8);
  const std::vector<float> logits = random_logits(rng, kRows * kVocab, 1);
  std::vector<Sequence> sequences(kRows);
  for (size_t r = 0; r < kRows; ++r) {
    sequences[r].params.seed = 100 + r;
    sequences[r].draw = 3 * r;
    sequences[r].params.top_k = r % 3 == 0 ? 0 : int32_t(100 * r);
    sequences[r].params.top_p = r % 2 == 0 ? 1.0f : 0.9f;
  }
  DeviceSampler sampler(kRows, kVocab, 0);
  const DeviceResult together = sample_on_device(sampler, logits, build_step(sequences));
  const DeviceResult again = sample_on_device(sampler, logits, build_step(sequences));
  std::vector<Sequence> reversed(sequences.rbegin(), sequences.rend());
  std::vector<float> reversed_logits;
  for (size_t r = kRows; r-- > 0;) {
    const std::vector<float> row = row_of(logits, kVocab, r);
    reversed_logits.insert(reversed_logits.end(), row.begin(), row.end());
  }
  const DeviceResult backwards = sample_on_device(sampler, reversed_logits, build_step(reversed));
  for (size_t r = 0; r < kRows; ++r) {
    const DeviceResult alone = sample_on_device(sampler, row_of(logits, kVocab, r), build_step({sequences[r]}));
    EXPECT_EQ(alone.sampled[0].token, together.sampled[r].token) << "row " << r;
    EXPECT_EQ(again.sampled[r].token, together.sampled[r].token) << "row " << r;
    EXPECT_EQ(backwards.sampled[kRows - 1 - r].token, together.sampled[r].token) << "row " << r;
  }

  // Over counters the tokens vary, and another seed gives other tokens.
  std::vector<Sequence> counters(200), other_seed(200);
  std::vector<float> repeated;
  for (size_t i = 0; i < counters.size(); ++i) {
    counters[i] = sequences[0];
    counters[i].draw = i;
    other_seed[i] = counters[i];
    other_seed[i].params.seed = 999;
    repeated.insert(repeated.end(), logits.begin(), logits.begin() + kVocab);
  }
  DeviceSampler wide(counters.size(), kVocab, 0);
  const DeviceResult by_counter = sample_on_device(wide, repeated, build_step(counters));
  const DeviceResult by_other_seed = sample_on_device(wide, repeated, build_step(other_seed));
  std::set<TokenId> distinct;
  size_t same = 0;
  for (size_t i = 0; i < counters.size(); ++i) {
    distinct.insert(by_counter.sampled[i].token);
    same += by_counter.sampled[i].token == by_other_seed.sampled[i].token;
  }
  EXPECT_GT(distinct.size(), 150u);
  EXPECT_LT(same, 20u);
}

TEST_F(DeviceSampling, RejectsWhatItWasNotMadeFor) {
  EXPECT_THROW(DeviceSampler(4, 0, 4), std::invalid_argument);
  EXPECT_THROW(DeviceSampler(4, size_t(1) << 24, 4), std::invalid_argument);
  constexpr size_t kVocab = 100;
  DeviceSampler sampler(2, kVocab, 3);
  const DeviceCopy<float> logits(std::vector<float>(3 * kVocab, 1.0f));
  std::vector<Sampled> out;
  const std::vector<SamplingRow> three(3), one(1);
  const std::vector<BiasEntry> four_bias(4, BiasEntry{1, 1.0f}), two_bias(2, BiasEntry{1, 1.0f});
  const std::vector<SeenToken> four_seen(4, SeenToken{1, 1, false});
  EXPECT_THROW(sampler.sample(logits.get(), three, {}, {}, out, nullptr), std::invalid_argument);
  EXPECT_THROW(sampler.sample(logits.get(), one, four_bias, {}, out, nullptr), std::invalid_argument);
  EXPECT_THROW(sampler.sample(logits.get(), one, {}, four_seen, out, nullptr), std::invalid_argument);
  const auto rejects = [&](SamplingRow row, std::span<const BiasEntry> bias) {
    EXPECT_THROW(sampler.sample(logits.get(), std::vector<SamplingRow>{row}, bias, {}, out, nullptr),
                 std::invalid_argument);
  };
  SamplingRow past_the_entries;
  past_the_entries.bias_begin = 1;
  past_the_entries.bias_count = 2;
  rejects(past_the_entries, two_bias);
  SamplingRow too_many_top;
  too_many_top.logprobs = true;
  too_many_top.top_logprobs = sampler::kMaxTopLogprobs + 1;
  rejects(too_many_top, {});
  SamplingRow negative_temperature;
  negative_temperature.temperature = -1;
  rejects(negative_temperature, {});
  SamplingRow nan_temperature;
  nan_temperature.temperature = std::numeric_limits<float>::quiet_NaN();
  rejects(nan_temperature, {});
  SamplingRow large_min_p;
  large_min_p.min_p = 1.5f;
  rejects(large_min_p, {});
  SamplingRow negative_top_k;
  negative_top_k.top_k = -1;
  rejects(negative_top_k, {});
  // Within its limits it samples.
  SamplingRow fine;
  fine.temperature = 0;
  fine.bias_begin = 1;
  fine.bias_count = 1;
  sampler.sample(logits.get(), std::vector<SamplingRow>{fine, fine}, two_bias, {}, out, nullptr);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[1].token, 1) << "the bias makes token 1 the best";
}

}  // namespace
}  // namespace rs::gpu
