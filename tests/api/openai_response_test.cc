#include "core/api/openai_response.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

namespace rs::api {
namespace {

const ResponseMeta kChatMeta{"chatcmpl-1", 1700000000, "m", "fp_1"};
const ResponseMeta kCompletionMeta{"cmpl-2", 1700000001, "m", "fp_1"};

// Every body must be one valid JSON value.
void expect_json(const std::string& body) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  EXPECT_EQ(parser.parse(body).get(root), simdjson::SUCCESS) << body;
}

TokenLogprob token(std::string text, float logprob, std::vector<TokenLogprob::Alternative> top = {}) {
  TokenLogprob result;
  result.token = std::move(text);
  result.logprob = logprob;
  result.top = std::move(top);
  return result;
}

ChoiceResult choice(uint32_t index, std::string text, std::string finish_reason) {
  ChoiceResult result;
  result.index = index;
  result.text = std::move(text);
  result.finish_reason = std::move(finish_reason);
  return result;
}

ChunkPiece piece(uint32_t index, bool first, std::string_view text, std::string_view finish_reason,
                 bool logprobs = false, std::span<const TokenLogprob> tokens = {},
                 std::span<const uint32_t> text_offsets = {}) {
  ChunkPiece result;
  result.index = index;
  result.first = first;
  result.text = text;
  result.finish_reason = finish_reason;
  result.logprobs = logprobs;
  result.tokens = tokens;
  result.text_offsets = text_offsets;
  return result;
}

TEST(WriteResponse, ChatCompletion) {
  const std::vector<ChoiceResult> choices = {choice(0, "Hello \"x\"\n", "stop")};
  std::string out = "prefix:";  // writers append
  append_chat_completion(out, kChatMeta, choices, Usage{5, 3});
  EXPECT_EQ(out,
            R"(prefix:{"id":"chatcmpl-1","object":"chat.completion","created":1700000000,"model":"m","choices":[)"
            R"({"index":0,"message":{"role":"assistant","content":"Hello \"x\"\n"},"logprobs":null,"finish_reason":"stop"}],)"
            R"("usage":{"prompt_tokens":5,"completion_tokens":3,"total_tokens":8,)"
            R"("prompt_tokens_details":{"cached_tokens":0}},"system_fingerprint":"fp_1"})");
  expect_json(out.substr(7));
}

TEST(WriteResponse, ChatCompletionChoicesAndNullFingerprint) {
  const std::vector<ChoiceResult> choices = {choice(0, "a", "length"), choice(1, "", "stop")};
  std::string out;
  append_chat_completion(out, ResponseMeta{"chatcmpl-2", 1, "m\xFF", ""}, choices, Usage{4294967295u, 1});
  EXPECT_EQ(out,
            "{\"id\":\"chatcmpl-2\",\"object\":\"chat.completion\",\"created\":1,\"model\":\"m\xEF\xBF\xBD\","
            R"("choices":[{"index":0,"message":{"role":"assistant","content":"a"},"logprobs":null,"finish_reason":"length"},)"
            R"({"index":1,"message":{"role":"assistant","content":""},"logprobs":null,"finish_reason":"stop"}],)"
            R"("usage":{"prompt_tokens":4294967295,"completion_tokens":1,"total_tokens":4294967296,)"
            R"("prompt_tokens_details":{"cached_tokens":0}},)"
            R"("system_fingerprint":null})");
  expect_json(out);
}

TEST(WriteResponse, ChatCompletionLogprobs) {
  ChoiceResult result = choice(0, "Hello\xE4\xBD\xA0", "stop");
  result.logprobs = true;
  result.tokens = {token("Hello", -0.31f, {{"Hello", -0.31f}, {"Hi", -1.5f}}),
                   token("\xE4\xBD", -std::numeric_limits<float>::infinity()),  // part of a character
                   token("\xA0", 0.0f)};
  std::string out;
  append_chat_completion(out, kChatMeta, std::span(&result, 1), Usage{1, 3});
  EXPECT_EQ(out,
            R"({"id":"chatcmpl-1","object":"chat.completion","created":1700000000,"model":"m","choices":[)"
            "{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"Hello\xE4\xBD\xA0\"},"
            R"("logprobs":{"content":[)"
            R"({"token":"Hello","logprob":-0.31,"bytes":[72,101,108,108,111],"top_logprobs":[)"
            R"({"token":"Hello","logprob":-0.31,"bytes":[72,101,108,108,111]},)"
            R"({"token":"Hi","logprob":-1.5,"bytes":[72,105]}]},)"
            R"({"token":"bytes:\\xe4\\xbd","logprob":-9999.0,"bytes":[228,189],"top_logprobs":[]},)"
            R"({"token":"bytes:\\xa0","logprob":0,"bytes":[160],"top_logprobs":[]}]},)"
            R"("finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":3,"total_tokens":4,)"
            R"("prompt_tokens_details":{"cached_tokens":0}},)"
            R"("system_fingerprint":"fp_1"})");
  expect_json(out);

  result.tokens.clear();  // asked, but nothing generated
  out.clear();
  append_chat_completion(out, kChatMeta, std::span(&result, 1), Usage{});
  EXPECT_NE(out.find(R"("logprobs":{"content":[]})"), std::string::npos) << out;
}

TEST(WriteResponse, LogprobsRoundTrip) {
  const std::vector<float> values = {-0.1f, -1e-7f, -123.456f, -3.4028235e38f, -1.4e-45f, -0.0f, -2.0f / 3.0f,
                                     std::nanf(""), -std::numeric_limits<float>::infinity()};
  ChoiceResult result = choice(0, "", "stop");
  result.logprobs = true;
  for (const float value : values) result.tokens.push_back(token("t", value));
  std::string out;
  append_chat_completion(out, kChatMeta, std::span(&result, 1), Usage{});
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  ASSERT_EQ(parser.parse(out).get(root), simdjson::SUCCESS) << out;
  simdjson::dom::array content;
  ASSERT_EQ(root["choices"].at(0)["logprobs"]["content"].get(content), simdjson::SUCCESS);
  size_t i = 0;
  for (const simdjson::dom::element entry : content) {
    double parsed = 0;
    ASSERT_EQ(entry["logprob"].get(parsed), simdjson::SUCCESS);
    if (std::isfinite(values[i])) {
      EXPECT_EQ(static_cast<float>(parsed), values[i]) << i;
    } else {
      EXPECT_EQ(parsed, -9999.0) << i;  // JSON has no NaN or infinity
    }
    ++i;
  }
  EXPECT_EQ(i, values.size());
}

TEST(WriteResponse, ChatChunks) {
  const auto chunk = [](const ChunkPiece& piece, bool usage_null) {
    std::string out;
    append_chat_chunk(out, kChatMeta, piece, usage_null);
    expect_json(out);
    return out;
  };
  const std::string head =
      R"({"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"m",)"
      R"("system_fingerprint":"fp_1","choices":[)";
  EXPECT_EQ(chunk(piece(0, true, "Hi", ""), false),
            head + R"({"index":0,"delta":{"role":"assistant","content":"Hi"},"logprobs":null,"finish_reason":null}]})");
  EXPECT_EQ(chunk(piece(2, true, "", ""), true),
            head + R"({"index":2,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}],)"
                   R"("usage":null})");
  EXPECT_EQ(chunk(piece(0, false, " there\t", ""), false),
            head + R"({"index":0,"delta":{"content":" there\t"},"logprobs":null,"finish_reason":null}]})");
  EXPECT_EQ(chunk(piece(0, false, "", ""), false),  // held text (a partial character): still a content delta
            head + R"({"index":0,"delta":{"content":""},"logprobs":null,"finish_reason":null}]})");
  EXPECT_EQ(chunk(piece(1, false, "", "stop"), true),
            head + R"({"index":1,"delta":{},"logprobs":null,"finish_reason":"stop"}],"usage":null})");
  EXPECT_EQ(chunk(piece(0, false, "end", "length"), false),
            head + R"({"index":0,"delta":{"content":"end"},"logprobs":null,"finish_reason":"length"}]})");
  EXPECT_EQ(chunk(piece(0, true, "", "length"), false),
            head + R"({"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":"length"}]})");

  const std::vector<TokenLogprob> tokens = {token("Hi", -0.5f, {{"Hi", -0.5f}}), token("!", -2.25f)};
  EXPECT_EQ(chunk(piece(0, false, "Hi!", "", true, tokens), false),
            head + R"({"index":0,"delta":{"content":"Hi!"},"logprobs":{"content":[)"
                   R"({"token":"Hi","logprob":-0.5,"bytes":[72,105],"top_logprobs":[{"token":"Hi","logprob":-0.5,"bytes":[72,105]}]},)"
                   R"({"token":"!","logprob":-2.25,"bytes":[33],"top_logprobs":[]}]},"finish_reason":null}]})");
  EXPECT_EQ(chunk(piece(0, false, "", "stop", true), false),  // no tokens: null
            head + R"({"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]})");
}

TEST(WriteResponse, ChatCompletionWithToolCalls) {
  std::vector<ChoiceResult> choices = {choice(0, "", "tool_calls"), choice(1, "Checking.", "tool_calls")};
  choices[0].tool_calls = {{"call_abc", "get_weather", R"({"city":"Paris"})"}, {"call_def", "get_time", "{}"}};
  choices[1].tool_calls = {{"call_ghi", "get_weather", "{\"city\":\"Z\xC3\xBCrich\"}"}};
  std::string out;
  append_chat_completion(out, kChatMeta, choices, Usage{20, 12});
  // As OpenAI: content null when the message only calls tools, arguments a JSON string.
  EXPECT_EQ(out,
            R"({"id":"chatcmpl-1","object":"chat.completion","created":1700000000,"model":"m","choices":[)"
            R"({"index":0,"message":{"role":"assistant","content":null,"tool_calls":[)"
            R"({"id":"call_abc","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}},)"
            R"({"id":"call_def","type":"function","function":{"name":"get_time","arguments":"{}"}}]},)"
            R"("logprobs":null,"finish_reason":"tool_calls"},)"
            R"({"index":1,"message":{"role":"assistant","content":"Checking.","tool_calls":[)"
            R"({"id":"call_ghi","type":"function","function":{"name":"get_weather",)"
            "\"arguments\":\"{\\\"city\\\":\\\"Z\xC3\xBCrich\\\"}\"}}]},\"logprobs\":null,\"finish_reason\":\"tool_calls\"}],"
            R"("usage":{"prompt_tokens":20,"completion_tokens":12,"total_tokens":32,)"
            R"("prompt_tokens_details":{"cached_tokens":0}},"system_fingerprint":"fp_1"})");
  expect_json(out);
}

TEST(WriteResponse, ChatChunksWithToolCalls) {
  const auto chunk = [](const ChunkPiece& piece) {
    std::string out;
    append_chat_chunk(out, kChatMeta, piece, false);
    expect_json(out);
    return out;
  };
  const std::string head =
      R"({"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"m",)"
      R"("system_fingerprint":"fp_1","choices":[)";
  // As OpenAI streams a call: its first piece has id, type and name, with arguments "", the next pieces only
  // arguments; no content in either.
  const ToolCallFragment first{1, "call_abc", "get_weather", ""};
  ChunkPiece p = piece(0, false, "", "");
  p.tool_call = &first;
  EXPECT_EQ(chunk(p), head + R"({"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_abc","type":"function",)"
                             R"("function":{"name":"get_weather","arguments":""}}]},"logprobs":null,)"
                             R"("finish_reason":null}]})");
  const ToolCallFragment more{1, "", "", R"({"city": "Pa)"};
  p.tool_call = &more;
  p.finish_reason = "tool_calls";
  EXPECT_EQ(chunk(p), head + R"({"index":0,"delta":{"tool_calls":[{"index":1,"function":{"arguments":)"
                             R"("{\"city\": \"Pa"}}]},"logprobs":null,"finish_reason":"tool_calls"}]})");
  // Content and a call in one chunk, and the role chunk with a call.
  p = piece(0, true, "Hm.", "");
  p.tool_call = &more;
  EXPECT_EQ(chunk(p), head + R"({"index":0,"delta":{"role":"assistant","content":"Hm.","tool_calls":[{"index":1,)"
                             R"("function":{"arguments":"{\"city\": \"Pa"}}]},"logprobs":null,"finish_reason":null}]})");
}

TEST(WriteResponse, Completion) {
  std::vector<ChoiceResult> choices = {choice(0, "Paris", "length"), choice(1, "Rome", "stop")};
  choices[1].logprobs = true;
  choices[1].tokens = {token("Ro", -0.25f, {{"Ro", -0.25f}, {"Pa", -2.0f}, {"Ro", -3.0f}}),
                       token("me", -0.125f)};
  choices[1].text_offsets = {10, 12};
  std::string out;
  append_completion(out, kCompletionMeta, choices, Usage{3, 2});
  EXPECT_EQ(out,
            R"({"id":"cmpl-2","object":"text_completion","created":1700000001,"model":"m","choices":[)"
            R"({"text":"Paris","index":0,"logprobs":null,"finish_reason":"length"},)"
            R"({"text":"Rome","index":1,"logprobs":{"text_offset":[10,12],"token_logprobs":[-0.25,-0.125],)"
            R"("tokens":["Ro","me"],"top_logprobs":[{"Ro":-0.25,"Pa":-2},{}]},"finish_reason":"stop"}],)"
            R"("usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5,)"
            R"("prompt_tokens_details":{"cached_tokens":0}},"system_fingerprint":"fp_1"})");
  expect_json(out);
}

TEST(WriteResponse, CompletionChunks) {
  const auto chunk = [](const ChunkPiece& piece, bool usage_null) {
    std::string out;
    append_completion_chunk(out, kCompletionMeta, piece, usage_null);
    expect_json(out);
    return out;
  };
  const std::string head = R"({"id":"cmpl-2","object":"text_completion","created":1700000001,"model":"m","choices":[)";
  EXPECT_EQ(chunk(piece(0, true, "Hel", ""), false),
            head + R"({"text":"Hel","index":0,"logprobs":null,"finish_reason":null}],"system_fingerprint":"fp_1"})");
  EXPECT_EQ(chunk(piece(3, false, "", "stop"), true),
            head + R"({"text":"","index":3,"logprobs":null,"finish_reason":"stop"}],"system_fingerprint":"fp_1",)"
                   R"("usage":null})");
  const std::vector<TokenLogprob> tokens = {token("lo", -1.0f, {{"lo", -1.0f}, {"\xC3", -9.5f}})};
  const std::vector<uint32_t> offsets = {3};
  EXPECT_EQ(chunk(piece(0, false, "lo", "", true, tokens, offsets),
                  false),
            head + "{\"text\":\"lo\",\"index\":0,\"logprobs\":{\"text_offset\":[3],\"token_logprobs\":[-1],"
                   "\"tokens\":[\"lo\"],\"top_logprobs\":[{\"lo\":-1,\"bytes:\\\\xc3\":-9.5}]},\"finish_reason\":null}],"
                   "\"system_fingerprint\":\"fp_1\"}");
}

TEST(WriteResponse, UsageChunks) {
  std::string chat;
  append_usage_chunk(chat, kChatMeta, true, Usage{7, 9, 4});
  EXPECT_EQ(chat,
            R"({"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"m",)"
            R"("system_fingerprint":"fp_1","choices":[],"usage":{"prompt_tokens":7,"completion_tokens":9,)"
            R"("total_tokens":16,"prompt_tokens_details":{"cached_tokens":4}}})");
  expect_json(chat);
  std::string completion;
  append_usage_chunk(completion, kCompletionMeta, false, Usage{7, 9});
  EXPECT_EQ(completion,
            R"({"id":"cmpl-2","object":"text_completion","created":1700000001,"model":"m","choices":[],)"
            R"("system_fingerprint":"fp_1","usage":{"prompt_tokens":7,"completion_tokens":9,"total_tokens":16,)"
            R"("prompt_tokens_details":{"cached_tokens":0}}})");
  expect_json(completion);
}

TEST(WriteResponse, ModelList) {
  std::string out;
  append_model_list(out, "org/model \"q4\"", 1700000000, 4096);
  EXPECT_EQ(out, R"({"object":"list","data":[{"id":"org/model \"q4\"","object":"model","created":1700000000,)"
                 R"("owned_by":"ringserve","max_model_len":4096}]})");
  expect_json(out);
}

}  // namespace
}  // namespace rs::api
