// Top-k, top-p and min-p keep exactly the hand-computed sets, and the partial
// ordering top-p does on a large vocabulary keeps what a full sort would.
#include "core/sampler/truncation.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <set>
#include <vector>

#include "tests/sampler/logits_from_probs.h"

namespace rs::sampler {
namespace {

std::vector<Candidate> from_logits(const std::vector<float>& logits) {
  std::vector<Candidate> candidates;
  for (size_t i = 0; i < logits.size(); ++i) candidates.push_back({logits[i], TokenId(i)});
  return candidates;
}

std::set<TokenId> ids(const std::vector<Candidate>& candidates, size_t kept) {
  std::set<TokenId> set;
  for (size_t i = 0; i < kept; ++i) set.insert(candidates[i].id);
  return set;
}

template <typename Keep>
std::set<TokenId> kept_by(const std::vector<float>& logits, Keep keep) {
  std::vector<Candidate> candidates = from_logits(logits);
  return ids(candidates, keep(std::span<Candidate>(candidates)));
}

TEST(Truncation, TopKKeepsTheBestAndBreaksTiesByLowerId) {
  const auto top_k = [](size_t k) { return [k](std::span<Candidate> c) { return keep_top_k(c, k); }; };
  EXPECT_EQ(kept_by({1, 4, 3, 2}, top_k(2)), (std::set<TokenId>{1, 2}));
  EXPECT_EQ(kept_by({1, 4, 3, 2}, top_k(1)), (std::set<TokenId>{1}));
  EXPECT_EQ(kept_by({3, 1, 3, 3}, top_k(2)), (std::set<TokenId>{0, 2}));
  EXPECT_EQ(kept_by({1, 4, 3, 2}, top_k(0)), (std::set<TokenId>{0, 1, 2, 3}));
  EXPECT_EQ(kept_by({1, 4, 3, 2}, top_k(9)), (std::set<TokenId>{0, 1, 2, 3}));
}

TEST(Truncation, TopPKeepsTheFewestReachingP) {
  const auto top_p = [](float p) { return [p](std::span<Candidate> c) { return keep_top_p(c, p); }; };
  // Probabilities 0.1, 0.4, 0.2, 0.3: best first 0.4 (1), 0.3 (3), 0.2 (2), 0.1 (0).
  const std::vector<float> logits = from_probs({0.1, 0.4, 0.2, 0.3});
  EXPECT_EQ(kept_by(logits, top_p(0.3f)), (std::set<TokenId>{1}));
  EXPECT_EQ(kept_by(logits, top_p(0.65f)), (std::set<TokenId>{1, 3}));  // 0.4 + 0.3 = 0.7
  EXPECT_EQ(kept_by(logits, top_p(0.75f)), (std::set<TokenId>{1, 2, 3}));
  EXPECT_EQ(kept_by(logits, top_p(0.95f)), (std::set<TokenId>{0, 1, 2, 3}));
  EXPECT_EQ(kept_by(logits, top_p(1.0f)), (std::set<TokenId>{0, 1, 2, 3}));
  // Shifting every logit changes nothing: only the softmax counts.
  std::vector<float> shifted = logits;
  for (float& l : shifted) l += 50;
  EXPECT_EQ(kept_by(shifted, top_p(0.65f)), (std::set<TokenId>{1, 3}));
}

TEST(Truncation, TopPRenormalizesOverWhatTopKLeft) {
  // 0.4, 0.3, 0.2, 0.1: top-k 2 leaves 0.4 and 0.3, i.e. 4/7 and 3/7; top-p 0.6 then needs both.
  std::vector<Candidate> c = from_logits(from_probs({0.4, 0.3, 0.2, 0.1}));
  const size_t k = keep_top_k(c, 2);
  EXPECT_EQ(ids(c, keep_top_p(std::span(c).first(k), 0.6f)), (std::set<TokenId>{0, 1}));
  // At 0.55, 4/7 alone is enough after top-k, but 0.4 is not without it.
  c = from_logits(from_probs({0.4, 0.3, 0.2, 0.1}));
  EXPECT_EQ(ids(c, keep_top_p(std::span(c).first(keep_top_k(c, 2)), 0.55f)), (std::set<TokenId>{0}));
  c = from_logits(from_probs({0.4, 0.3, 0.2, 0.1}));
  EXPECT_EQ(ids(c, keep_top_p(c, 0.55f)), (std::set<TokenId>{0, 1}));
}

TEST(Truncation, MinPKeepsThoseWithinAFactorOfTheBest) {
  const auto min_p = [](float p) { return [p](std::span<Candidate> c) { return keep_min_p(c, p); }; };
  // Probabilities 0.5, 0.25, 0.15, 0.1.
  const std::vector<float> logits = from_probs({0.15, 0.5, 0.1, 0.25});
  EXPECT_EQ(kept_by(logits, min_p(0.25f)), (std::set<TokenId>{0, 1, 3}));  // at least 0.125
  EXPECT_EQ(kept_by(logits, min_p(0.4f)), (std::set<TokenId>{1, 3}));      // at least 0.2
  EXPECT_EQ(kept_by(logits, min_p(0.6f)), (std::set<TokenId>{1}));         // at least 0.3
  EXPECT_EQ(kept_by(logits, min_p(0.1f)), (std::set<TokenId>{0, 1, 2, 3}));
  EXPECT_EQ(kept_by(logits, min_p(0.0f)), (std::set<TokenId>{0, 1, 2, 3}));
  EXPECT_EQ(kept_by(logits, min_p(1.0f)), (std::set<TokenId>{1}));  // the best always stays
}

TEST(Truncation, MinPKeepsTheOrder) {
  std::vector<Candidate> c = from_logits(from_probs({0.15, 0.5, 0.1, 0.25}));
  ASSERT_EQ(keep_min_p(c, 0.25f), 3u);
  EXPECT_EQ(c[0].id, 0);
  EXPECT_EQ(c[1].id, 1);
  EXPECT_EQ(c[2].id, 3);
}

// What top-p keeps by the definition: sort everything, add up from the best.
std::set<TokenId> top_p_by_full_sort(const std::vector<float>& logits, float p) {
  std::vector<Candidate> sorted = from_logits(logits);
  std::sort(sorted.begin(), sorted.end(), ranks_before);
  const float max = sorted.front().logit;
  double total = 0;
  for (const Candidate& c : sorted) total += std::exp(c.logit - max);
  double sum = 0;
  size_t kept = 0;
  while (kept < sorted.size() && sum < p * total) sum += std::exp(sorted[kept++].logit - max);
  return ids(sorted, kept);
}

TEST(Truncation, TopPOnALargeVocabularyMatchesAFullSort) {
  std::mt19937_64 rng(7);
  const auto normal = [&](float sigma) {
    std::normal_distribution<float> distribution(0, sigma);
    std::vector<float> logits(50000);
    for (float& l : logits) l = distribution(rng);
    return logits;
  };
  std::vector<float> peaked = normal(3), flat = normal(0.05f), tied = normal(2);
  peaked[123] = peaked[456];
  for (float& l : tied) l = std::round(l * 4) / 4;  // a few dozen distinct values, thousands of ties
  peaked[7] = 40;  // one far ahead: a cut in the first bucket
  for (const auto& logits : {peaked, flat, tied, normal(3)}) {
    for (const float p : {0.013f, 0.51f, 0.9f, 0.993f}) {
      std::vector<Candidate> c = from_logits(logits);
      EXPECT_EQ(ids(c, keep_top_p(c, p)), top_p_by_full_sort(logits, p)) << "p = " << p;
    }
  }
}

}  // namespace
}  // namespace rs::sampler
