#include "core/api/semantic_request.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <string>

namespace rs::api {
namespace {

CompletionRequest chat_with(std::string_view messages, std::string_view fields = R"("temperature":0)") {
  return parse_completion_request(fmt::format(R"({{"messages":{},{}}})", messages, fields), Endpoint::chat);
}

std::string user(std::string_view text) { return fmt::format(R"([{{"role":"user","content":"{}"}}])", text); }

std::optional<SemanticQuery> query(const CompletionRequest& request, bool no_cache_header = false) {
  return semantic_query(request, "m", no_cache_header);
}

TEST(SemanticQuery, OnlyDeterministicSingleAnswersAreCached) {
  EXPECT_TRUE(query(chat_with(user("hi"))));
  EXPECT_TRUE(query(chat_with(user("hi"), R"("temperature":0.8,"seed":3)")));
  EXPECT_FALSE(query(chat_with(user("hi"), R"("temperature":0.8)")));
  EXPECT_FALSE(query(chat_with(user("hi"), R"("temperature":1)")));  // and OpenAI's default temperature is 1
  EXPECT_FALSE(query(chat_with(user("hi"), R"("temperature":0,"n":2)")));
  EXPECT_FALSE(query(chat_with(user("hi"), R"("temperature":0,"logprobs":true)")));
  EXPECT_FALSE(query(chat_with(user("hi"), R"("temperature":0,"cache":false)")));
  EXPECT_FALSE(query(chat_with(user("hi")), true));  // Cache-Control: no-cache
  EXPECT_FALSE(query(chat_with(R"([{"role":"user","content":"hi"},{"role":"assistant","content":"Sure"}])")));
  EXPECT_FALSE(query(chat_with(R"([{"role":"user","content":[{"type":"image_url","image_url":{"url":"x"}}]}])")));
  const auto completion = [](std::string_view fields) {
    return parse_completion_request(fmt::format(R"({{"temperature":0,{}}})", fields), Endpoint::completion);
  };
  EXPECT_TRUE(query(completion(R"("prompt":"Once upon a time")")));
  EXPECT_FALSE(query(completion(R"("prompt":[1,2,3])")));
  EXPECT_FALSE(query(completion(R"("prompt":["a","b"])")));
  EXPECT_FALSE(query(completion(R"("prompt":"a","echo":true)")));
}

// An answer the cache holds is text: a request whose answer may be tool calls passes it by.
TEST(SemanticQuery, RequestsThatMayCallToolsAreNotCached) {
  constexpr std::string_view kTools = R"("temperature":0,"tools":[{"type":"function","function":{"name":"f"}}])";
  EXPECT_FALSE(query(chat_with(user("hi"), kTools)));  // "auto" by default
  EXPECT_FALSE(query(chat_with(user("hi"), fmt::format(R"({},"tool_choice":"required")", kTools))));
  EXPECT_FALSE(query(chat_with(user("hi"), fmt::format(R"({},"tool_choice":{{"type":"function","function":{{"name":"f"}}}})",
                                                  kTools))));
  // With "none" the tools are only shown to the model: its answer is text, keyed by the tools too.
  const auto shown = query(chat_with(user("hi"), fmt::format(R"({},"tool_choice":"none")", kTools)));
  ASSERT_TRUE(shown);
  EXPECT_NE(shown->context, query(chat_with(user("hi")))->context);
}

TEST(SemanticQuery, TheContextIsEverythingButTheLastUserMessage) {
  const auto base = query(chat_with(R"([{"role":"system","content":"Be brief."},{"role":"user","content":"What is 2+2?"}])"));
  ASSERT_TRUE(base);
  EXPECT_EQ(base->message, "What is 2+2?");
  const auto other_question =
      query(chat_with(R"([{"role":"system","content":"Be brief."},{"role":"user","content":"Name a colour"}])"));
  EXPECT_EQ(other_question->context, base->context);
  EXPECT_NE(other_question->exact, base->exact);
  const auto other_system =
      query(chat_with(R"([{"role":"system","content":"Be verbose."},{"role":"user","content":"What is 2+2?"}])"));
  EXPECT_NE(other_system->context, base->context);
  EXPECT_EQ(other_system->exact, base->exact);
  const auto longer = query(chat_with(R"([{"role":"system","content":"Be brief."},{"role":"user","content":"What is 2+2?"}])",
                                 R"("temperature":0,"max_tokens":5)"));
  EXPECT_NE(longer->context, base->context);
  const auto stopped = query(chat_with(R"([{"role":"system","content":"Be brief."},{"role":"user","content":"What is 2+2?"}])",
                                  R"("temperature":0,"stop":["."])"));
  EXPECT_NE(stopped->context, base->context);
  const auto salted = query(chat_with(R"([{"role":"system","content":"Be brief."},{"role":"user","content":"What is 2+2?"}])",
                                 R"("temperature":0,"cache_salt":"tenant-a")"));
  EXPECT_NE(salted->context, base->context);
  EXPECT_NE(semantic_query(chat_with(user("What is 2+2?")), "other-model", false)->context, query(chat_with(user("What is 2+2?")))->context);
  // Whitespace alone does not make another question.
  EXPECT_EQ(query(chat_with(user("  What is\\n 2+2?  ")))->exact, query(chat_with(user("What is 2+2?")))->exact);
  // Text parts are the message's text.
  EXPECT_EQ(query(chat_with(R"([{"role":"user","content":[{"type":"text","text":"What is 2+2?"}]}])"))->exact,
            query(chat_with(user("What is 2+2?")))->exact);
}

TEST(SemanticGuard, NegationsNumbersAndSwappedNamesAreNeverTheSameQuestion) {
  // The published false hits of semantic caches.
  EXPECT_NE(semantic_guard("Is ibuprofen safe during pregnancy?"), semantic_guard("Is ibuprofen not safe during pregnancy?"));
  EXPECT_NE(semantic_guard("Should I ever mix bleach and ammonia?"), semantic_guard("Should I never mix bleach and ammonia?"));
  EXPECT_NE(semantic_guard("What is 15% of 200?"), semantic_guard("What is 15% of 300?"));
  EXPECT_NE(semantic_guard("Convert 5 miles to km"), semantic_guard("Convert 50 miles to km"));
  EXPECT_NE(semantic_guard("What is two plus three?"), semantic_guard("What is two plus four?"));
  EXPECT_NE(semantic_guard("Is Paris bigger than London?"), semantic_guard("Is London bigger than Paris?"));
  EXPECT_NE(semantic_guard("Did Apple buy Beats?"), semantic_guard("Did Beats buy Apple?"));
  // What they may share with a paraphrase.
  EXPECT_EQ(semantic_guard("What is the capital of France?"), semantic_guard("Tell me the capital of France, please"));
  EXPECT_EQ(semantic_guard("Isn't it safe?"), semantic_guard("Is it not safe?"));
  EXPECT_EQ(semantic_guard("Population above 1,000,000?"), semantic_guard("population above 1000000"));
  EXPECT_EQ(semantic_guard("Add 3 and 4"), semantic_guard("Add 4 and 3"));  // numbers as a multiset
  EXPECT_EQ(semantic_guard("How do I sort a list in Python?"), semantic_guard("how to sort a list in Python"));
}

}  // namespace
}  // namespace rs::api
