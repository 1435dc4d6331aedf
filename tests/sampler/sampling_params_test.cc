// SamplingParams::validate names the field at fault, as the API's 400 does.
#include "core/sampler/sampling_params.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

namespace rs::sampler {
namespace {

constexpr size_t kVocab = 32000;

// The message for `params`, or "valid".
std::string check(const SamplingParams& params) { return params.validate(kVocab).value_or("valid"); }

TEST(SamplingParams, DefaultsAndFullRequestsAreValid) {
  EXPECT_EQ(check({}), "valid");
  SamplingParams p;
  p.temperature = 2;
  p.top_k = 40;
  p.top_p = 0.95f;
  p.min_p = 0.05f;
  p.repetition_penalty = 1.1f;
  p.presence_penalty = -2;
  p.frequency_penalty = 2;
  p.logit_bias = {{0, -100}, {31999, 500}};  // out-of-range biases are clamped, not refused
  p.seed = 42;
  p.max_tokens = 1;
  p.stop_token_ids = {2, 31999};
  p.stop = {"\n\n", "User:"};
  p.logprobs = true;
  p.top_logprobs = 20;
  p.ignore_eos = true;
  EXPECT_EQ(check(p), "valid");
}

TEST(SamplingParams, RangesNameTheirField) {
  const auto with = [](auto set) {
    SamplingParams p;
    set(p);
    return check(p);
  };
  EXPECT_EQ(with([](SamplingParams& p) { p.temperature = -0.1f; }), "temperature must be between 0 and 2");
  EXPECT_EQ(with([](SamplingParams& p) { p.temperature = 2.01f; }), "temperature must be between 0 and 2");
  EXPECT_EQ(with([](SamplingParams& p) { p.temperature = NAN; }), "temperature must be between 0 and 2");
  EXPECT_EQ(with([](SamplingParams& p) { p.top_k = -1; }), "top_k must be at least 0 (0 turns it off)");
  EXPECT_EQ(with([](SamplingParams& p) { p.top_p = 0; }), "top_p must be greater than 0 and at most 1");
  EXPECT_EQ(with([](SamplingParams& p) { p.top_p = 1.5f; }), "top_p must be greater than 0 and at most 1");
  EXPECT_EQ(with([](SamplingParams& p) { p.min_p = -0.5f; }), "min_p must be between 0 and 1");
  EXPECT_EQ(with([](SamplingParams& p) { p.min_p = 1.5f; }), "min_p must be between 0 and 1");
  EXPECT_EQ(with([](SamplingParams& p) { p.repetition_penalty = 0; }),
            "repetition_penalty must be a finite number greater than 0");
  EXPECT_EQ(with([](SamplingParams& p) { p.repetition_penalty = INFINITY; }),
            "repetition_penalty must be a finite number greater than 0");
  EXPECT_EQ(with([](SamplingParams& p) { p.presence_penalty = 2.5f; }), "presence_penalty must be between -2 and 2");
  EXPECT_EQ(with([](SamplingParams& p) { p.frequency_penalty = -3; }), "frequency_penalty must be between -2 and 2");
  EXPECT_EQ(with([](SamplingParams& p) { p.max_tokens = -1; }), "max_tokens must not be negative");
  EXPECT_EQ(with([](SamplingParams& p) { p.max_tokens = 0; }), "valid");  // scores an echoed prompt
  EXPECT_EQ(with([](SamplingParams& p) { p.logprobs = true, p.top_logprobs = 21; }),
            "top_logprobs must be between 0 and 20");
  EXPECT_EQ(with([](SamplingParams& p) { p.logprobs = true, p.top_logprobs = -1; }),
            "top_logprobs must be between 0 and 20");
  EXPECT_EQ(with([](SamplingParams& p) { p.top_logprobs = 5; }), "top_logprobs requires logprobs to be true");
}

TEST(SamplingParams, TokenIdsMustBeInTheVocabulary) {
  SamplingParams p;
  p.logit_bias = {{5, 1}, {99999, 1}};
  EXPECT_EQ(check(p), "logit_bias: token 99999 is outside the vocabulary of 32000");
  p.logit_bias = {{-1, 1}};
  EXPECT_EQ(check(p), "logit_bias: token -1 is outside the vocabulary of 32000");
  p.logit_bias = {{32000, 1}};
  EXPECT_EQ(check(p), "logit_bias: token 32000 is outside the vocabulary of 32000");
  p.logit_bias = {{7, NAN}};
  EXPECT_EQ(check(p), "logit_bias: the bias of token 7 is not a number");
  p.logit_bias = {};
  p.stop_token_ids = {2, 40000};
  EXPECT_EQ(check(p), "stop_token_ids: token 40000 is outside the vocabulary of 32000");
}

TEST(SamplingParams, StopStrings) {
  SamplingParams p;
  p.stop = {"a", ""};
  EXPECT_EQ(check(p), "stop: stop string 1 is empty");
  p.stop = std::vector<std::string>(kMaxStopStrings, "x");
  EXPECT_EQ(check(p), "valid");
  p.stop.push_back("y");
  EXPECT_EQ(check(p), "stop: at most 16 stop strings");
}

TEST(SamplingParams, StopTokensIncludeEosUnlessIgnored) {
  const std::vector<TokenId> eos = {2, 32007};
  SamplingParams p;
  p.stop_token_ids = {13};
  EXPECT_TRUE(p.is_stop_token(13, eos));
  EXPECT_TRUE(p.is_stop_token(2, eos));
  EXPECT_TRUE(p.is_stop_token(32007, eos));
  EXPECT_FALSE(p.is_stop_token(14, eos));
  p.ignore_eos = true;
  EXPECT_FALSE(p.is_stop_token(2, eos));
  EXPECT_FALSE(p.is_stop_token(32007, eos));
  EXPECT_TRUE(p.is_stop_token(13, eos));  // asked for by the request itself
}

}  // namespace
}  // namespace rs::sampler
