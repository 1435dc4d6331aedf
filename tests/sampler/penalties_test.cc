// Penalties computed by hand on small rows.
#include "core/sampler/penalties.h"

#include <gtest/gtest.h>

#include <vector>

namespace rs::sampler {
namespace {

std::vector<float> penalized(const SamplingParams& params, const std::vector<TokenId>& prompt,
                             const std::vector<TokenId>& generated, std::vector<float> logits) {
  Penalties penalties(params, prompt);
  for (const TokenId token : generated) penalties.accept(token);
  penalties.apply(logits);
  return logits;
}

TEST(Penalties, OffLeavesLogitsAlone) {
  const std::vector<float> logits = {2, -1, 0.5f, 3};
  EXPECT_EQ(penalized({}, {0, 1}, {3, 3, 2}, logits), logits);
}

TEST(Penalties, RepetitionDividesPositiveAndMultipliesNegativeOverPromptAndOutput) {
  SamplingParams p;
  p.repetition_penalty = 2;
  // Prompt {0, 1, 1}, generated {3}: 2 -> 1, -1 -> -2, 3 -> 1.5; token 2 was never seen.
  EXPECT_EQ(penalized(p, {0, 1, 1}, {3}, {2, -1, 0.5f, 3}), (std::vector<float>{1, -2, 0.5f, 1.5f}));
  // Once per token however often it was seen, in the prompt or the output or both.
  EXPECT_EQ(penalized(p, {3, 3}, {3, 3, 3}, {2, -1, 0.5f, 3}), (std::vector<float>{2, -1, 0.5f, 1.5f}));
  // A penalty below 1 rewards repetition.
  p.repetition_penalty = 0.5f;
  EXPECT_EQ(penalized(p, {0, 1}, {}, {2, -1, 0, 3}), (std::vector<float>{4, -0.5f, 0, 3}));
}

TEST(Penalties, PresenceAndFrequencyCountGeneratedTokensOnly) {
  SamplingParams p;
  p.presence_penalty = 0.25f;
  p.frequency_penalty = 0.5f;
  // Token 0 is only in the prompt: untouched. Token 3 twice: 3 - 0.25 - 2 * 0.5 = 1.75.
  // Token 2 once: 0.5 - 0.25 - 0.5 = -0.25.
  EXPECT_EQ(penalized(p, {0, 0}, {3, 2, 3}, {2, -1, 0.5f, 3}), (std::vector<float>{2, -1, -0.25f, 1.75f}));
  // Negative values encourage repetition.
  p.presence_penalty = -1;
  p.frequency_penalty = 0;
  EXPECT_EQ(penalized(p, {}, {1, 1}, {0, 0}), (std::vector<float>{0, 1}));
}

TEST(Penalties, RepetitionComesBeforePresenceAndFrequency) {
  SamplingParams p;
  p.repetition_penalty = 2;
  p.presence_penalty = 1;
  p.frequency_penalty = 0.5f;
  // Prompt {0}; generated {1, 2, 2}:
  //   0: 4 / 2 = 2 (prompt only: no presence or frequency)
  //   1: 3 / 2 - 1 - 0.5 = 0
  //   2: -1 * 2 - 1 - 2 * 0.5 = -4
  EXPECT_EQ(penalized(p, {0}, {1, 2, 2}, {4, 3, -1, 5}), (std::vector<float>{2, 0, -4, 5}));
}

TEST(Penalties, TokensPastTheRowAreIgnored) {
  SamplingParams p;
  p.repetition_penalty = 2;
  p.frequency_penalty = 1;
  EXPECT_EQ(penalized(p, {7, -1}, {9}, {1, 1}), (std::vector<float>{1, 1}));
}

}  // namespace
}  // namespace rs::sampler
