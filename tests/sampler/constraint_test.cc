// The constraint heads the sampler's chain: whatever the bias, penalties or
// temperature, only tokens it allows are drawn, and it sees every token.
#include "core/sampler/constraint.h"

#include <gtest/gtest.h>

#include <set>
#include <vector>

#include "core/sampler/sampler.h"

namespace rs::sampler {
namespace {

// Allows the tokens of `allowed`, and records what it is told.
class FixedConstraint final : public Constraint {
 public:
  FixedConstraint(std::set<TokenId> allowed, std::vector<TokenId>& accepted)
      : allowed_(std::move(allowed)), accepted_(accepted) {}
  void allowed(std::span<uint64_t> bits) override {
    for (const TokenId t : allowed_) bits[size_t(t) / 64] |= uint64_t(1) << (t % 64);
  }
  void accept(TokenId token) override { accepted_.push_back(token); }
  bool finished() const override { return accepted_.size() >= 3; }

 private:
  std::set<TokenId> allowed_;
  std::vector<TokenId>& accepted_;
};

class FixedSource final : public ConstraintSource {
 public:
  FixedSource(std::set<TokenId> allowed, std::vector<TokenId>& accepted)
      : allowed_(std::move(allowed)), accepted_(accepted) {}
  std::unique_ptr<Constraint> start() const override { return std::make_unique<FixedConstraint>(allowed_, accepted_); }

 private:
  std::set<TokenId> allowed_;
  std::vector<TokenId>& accepted_;
};

TEST(ConstraintTest, OnlyAllowedTokensAreDrawnInEverySamplingMode) {
  const std::set<TokenId> allowed = {3, 64, 130};
  std::vector<TokenId> accepted;
  for (const float temperature : {0.0f, 0.7f, 2.0f}) {
    SamplingParams params;
    params.temperature = temperature;
    params.top_k = temperature == 0.7f ? 2 : 0;
    params.logit_bias = {{5, 100.0f}};  // the bias cannot bring back a masked token
    params.seed = 42;
    params.logprobs = true;
    params.top_logprobs = 5;
    params.constraint = std::make_shared<FixedSource>(allowed, accepted);
    Sampler sampler(params, {});
    for (int step = 0; step < 200; ++step) {
      std::vector<float> logits(200);
      for (size_t i = 0; i < logits.size(); ++i) logits[i] = float((i * 37) % 11);
      const Sampled s = sampler.sample(logits);
      ASSERT_TRUE(allowed.count(s.token)) << s.token << " at temperature " << temperature;
      for (const auto& [token, logprob] : s.top) {
        if (!allowed.count(token)) {
          EXPECT_EQ(logprob, -INFINITY) << token;
        }
      }
    }
  }
}

TEST(ConstraintTest, AcceptedTokensReachTheConstraintAndItSaysWhenItIsDone) {
  std::vector<TokenId> accepted;
  SamplingParams params;
  params.temperature = 0;
  params.constraint = std::make_shared<FixedSource>(std::set<TokenId>{1, 2}, accepted);
  Sampler sampler(params, {});
  EXPECT_FALSE(sampler.constraint_finished());
  for (const TokenId t : {2, 1, 2}) sampler.accept(t);
  EXPECT_EQ(accepted, (std::vector<TokenId>{2, 1, 2}));
  EXPECT_TRUE(sampler.constraint_finished());

  SamplingParams free;
  EXPECT_FALSE(Sampler(free, {}).constraint_finished());
}

}  // namespace
}  // namespace rs::sampler
