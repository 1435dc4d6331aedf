#include "core/api/openai_request.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <simdjson.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "core/api/forced_tool_calls.h"

namespace rs::api {
namespace {

constexpr std::string_view kMessages = R"("messages":[{"role":"user","content":"hi"}])";

CompletionRequest chat(std::string_view fields) {
  return parse_completion_request(fields.empty() ? fmt::format("{{{}}}", kMessages)
                                                 : fmt::format("{{{},{}}}", kMessages, fields),
                                  Endpoint::chat);
}

CompletionRequest completion(std::string_view fields) {
  return parse_completion_request(
      fields.empty() ? std::string(R"({"prompt":"hi"})") : fmt::format(R"({{"prompt":"hi",{}}})", fields),
      Endpoint::completion);
}

// The error a body gets; fails the test when it parses.
ApiError rejection(std::string_view body, Endpoint endpoint) {
  try {
    parse_completion_request(body, endpoint);
  } catch (const ApiError& error) {
    return error;
  }
  ADD_FAILURE() << "accepted: " << body;
  return ApiError(0, "");
}

void expect_rejected(std::string_view body, Endpoint endpoint, std::string_view param, std::string_view mention) {
  SCOPED_TRACE(body);
  const ApiError error = rejection(body, endpoint);
  EXPECT_EQ(error.status(), 400);
  EXPECT_EQ(error.param(), param);
  EXPECT_NE(std::string_view(error.what()).find(mention), std::string_view::npos) << error.what();
}

// A chat body with `fields` added to a valid minimal one.
void expect_chat_rejected(std::string_view fields, std::string_view param, std::string_view mention = {}) {
  expect_rejected(fmt::format("{{{},{}}}", kMessages, fields), Endpoint::chat, param,
                  mention.empty() ? param : mention);
}

void expect_completion_rejected(std::string_view fields, std::string_view param, std::string_view mention = {}) {
  expect_rejected(fmt::format(R"({{"prompt":"hi",{}}})", fields), Endpoint::completion, param,
                  mention.empty() ? param : mention);
}

std::string repeated(std::string_view item, size_t count) {
  std::string out;
  for (size_t i = 0; i < count; ++i) {
    if (i > 0) out += ',';
    out += item;
  }
  return out;
}

TEST(ParseRequest, ChatDefaults) {
  const CompletionRequest request = chat("");
  EXPECT_EQ(request.endpoint, Endpoint::chat);
  EXPECT_EQ(request.model, "");
  EXPECT_EQ(request.messages_json, R"([{"role":"user","content":"hi"}])");
  EXPECT_EQ(request.tools_json, "");
  EXPECT_TRUE(request.add_generation_prompt);
  EXPECT_TRUE(request.prompts.empty());
  EXPECT_FALSE(request.echo);
  EXPECT_EQ(request.n, 1);
  EXPECT_FALSE(request.stream);
  EXPECT_FALSE(request.include_usage);
  EXPECT_TRUE(request.skip_special_tokens);
  EXPECT_EQ(request.user, "");
  const sampler::SamplingParams& s = request.sampling;
  EXPECT_EQ(s.temperature, 1.0f);
  EXPECT_EQ(s.top_k, 0);
  EXPECT_EQ(s.top_p, 1.0f);
  EXPECT_EQ(s.min_p, 0.0f);
  EXPECT_EQ(s.repetition_penalty, 1.0f);
  EXPECT_EQ(s.presence_penalty, 0.0f);
  EXPECT_EQ(s.frequency_penalty, 0.0f);
  EXPECT_TRUE(s.logit_bias.empty());
  EXPECT_FALSE(s.seed);
  EXPECT_FALSE(s.max_tokens);  // chat: until the context is full
  EXPECT_TRUE(s.stop_token_ids.empty());
  EXPECT_TRUE(s.stop.empty());
  EXPECT_FALSE(s.logprobs);
  EXPECT_EQ(s.top_logprobs, 0);
  EXPECT_FALSE(s.ignore_eos);
  EXPECT_EQ(s.validate(100), std::nullopt);
}

TEST(ParseRequest, CompletionDefaults) {
  const CompletionRequest request = completion("");
  EXPECT_EQ(request.endpoint, Endpoint::completion);
  ASSERT_EQ(request.prompts.size(), 1u);
  EXPECT_EQ(request.prompts[0].text, "hi");
  EXPECT_FALSE(request.prompts[0].is_tokens);
  EXPECT_TRUE(request.prompts[0].tokens.empty());
  EXPECT_EQ(request.messages_json, "");
  EXPECT_FALSE(request.echo);
  EXPECT_EQ(request.sampling.max_tokens, 16);  // OpenAI's and vLLM's default for completions
  EXPECT_FALSE(request.sampling.logprobs);
}

TEST(ParseRequest, EveryChatField) {
  const CompletionRequest request = parse_completion_request(R"({
    "model": "llama", "messages": [ {"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"} ],
    "tools": [ {"type": "function", "function": {"name": "f", "parameters": {}}} ], "tool_choice": "none",
    "add_generation_prompt": false, "n": 3, "stream": true, "stream_options": {"include_usage": true},
    "max_tokens": 100, "temperature": 0.5, "top_p": 0.9, "top_k": 40, "min_p": 0.05,
    "presence_penalty": -1.5, "frequency_penalty": 2, "repetition_penalty": 1.1, "seed": 42,
    "logit_bias": {"50256": -100, "7": 2.5}, "stop": ["\n\n", "END"], "stop_token_ids": [2, 32000],
    "ignore_eos": true, "skip_special_tokens": false, "logprobs": true, "top_logprobs": 5, "user": "u-1"
  })",
                                                             Endpoint::chat);
  EXPECT_EQ(request.model, "llama");
  EXPECT_EQ(request.messages_json,
            R"([{"role":"system","content":"be brief"},{"role":"user","content":"hi"}])");
  EXPECT_EQ(request.tools_json, R"([{"type":"function","function":{"name":"f","parameters":{}}}])");
  EXPECT_FALSE(request.add_generation_prompt);
  EXPECT_EQ(request.n, 3);
  EXPECT_TRUE(request.stream);
  EXPECT_TRUE(request.include_usage);
  EXPECT_FALSE(request.skip_special_tokens);
  EXPECT_EQ(request.user, "u-1");
  const sampler::SamplingParams& s = request.sampling;
  EXPECT_EQ(s.max_tokens, 100);
  EXPECT_EQ(s.temperature, 0.5f);
  EXPECT_EQ(s.top_p, 0.9f);
  EXPECT_EQ(s.top_k, 40);
  EXPECT_EQ(s.min_p, 0.05f);
  EXPECT_EQ(s.presence_penalty, -1.5f);
  EXPECT_EQ(s.frequency_penalty, 2.0f);
  EXPECT_EQ(s.repetition_penalty, 1.1f);
  EXPECT_EQ(s.seed, 42u);
  EXPECT_EQ(s.logit_bias, (std::map<sampler::TokenId, float>{{7, 2.5f}, {50256, -100.0f}}));
  EXPECT_EQ(s.stop, (std::vector<std::string>{"\n\n", "END"}));
  EXPECT_EQ(s.stop_token_ids, (std::vector<sampler::TokenId>{2, 32000}));
  EXPECT_TRUE(s.ignore_eos);
  EXPECT_TRUE(s.logprobs);
  EXPECT_EQ(s.top_logprobs, 5);
  EXPECT_EQ(s.validate(50257), std::nullopt);
}

TEST(ParseRequest, EveryCompletionField) {
  const CompletionRequest request = parse_completion_request(
      R"({"model":"m","prompt":["a","b"],"echo":true,"logprobs":3,"max_tokens":7,"stop":"x","n":2})",
      Endpoint::completion);
  ASSERT_EQ(request.prompts.size(), 2u);
  EXPECT_EQ(request.prompts[0].text, "a");
  EXPECT_EQ(request.prompts[1].text, "b");
  EXPECT_TRUE(request.echo);
  EXPECT_TRUE(request.sampling.logprobs);
  EXPECT_EQ(request.sampling.top_logprobs, 3);
  EXPECT_EQ(request.sampling.max_tokens, 7);
  EXPECT_EQ(request.sampling.stop, std::vector<std::string>{"x"});
  EXPECT_EQ(request.n, 2);

  const CompletionRequest zero = completion(R"("logprobs":0)");
  EXPECT_TRUE(zero.sampling.logprobs);
  EXPECT_EQ(zero.sampling.top_logprobs, 0);
}

TEST(ParseRequest, MessagesKeepTheirText) {
  // Whitespace goes; strings, escapes and numbers survive for the template's JSON parser.
  const CompletionRequest request = parse_completion_request(
      "{\"messages\": [ {\"role\": \"user\", \"content\": \"a\\\"b\\u00e9\\n\\u0001 \xE2\x82\xAC\", \"n\": 1.5} ]}",
      Endpoint::chat);
  simdjson::dom::parser parser;
  simdjson::dom::element messages;
  ASSERT_EQ(parser.parse(request.messages_json).get(messages), simdjson::SUCCESS) << request.messages_json;
  std::string_view content;
  ASSERT_EQ(messages.at(0)["content"].get(content), simdjson::SUCCESS);
  EXPECT_EQ(content, "a\"b\xC3\xA9\n\x01 \xE2\x82\xAC");
  double n = 0;
  ASSERT_EQ(messages.at(0)["n"].get(n), simdjson::SUCCESS);
  EXPECT_EQ(n, 1.5);
  EXPECT_EQ(request.messages_json.find(' '), request.messages_json.find("\xE2\x82\xAC") - 1);  // only the content's
}

TEST(ParseRequest, PromptForms) {
  const auto prompts = [](std::string_view prompt) {
    return parse_completion_request(fmt::format(R"({{"prompt":{}}})", prompt), Endpoint::completion).prompts;
  };
  const std::vector<Prompt> ids = prompts("[1, 2, 2147483647, 5.0]");
  ASSERT_EQ(ids.size(), 1u);
  EXPECT_TRUE(ids[0].is_tokens);
  EXPECT_EQ(ids[0].tokens, (std::vector<int32_t>{1, 2, 2147483647, 5}));
  EXPECT_EQ(ids[0].text, "");

  const std::vector<Prompt> lists = prompts("[[1], [0, 3]]");
  ASSERT_EQ(lists.size(), 2u);
  EXPECT_TRUE(lists[0].is_tokens && lists[1].is_tokens);
  EXPECT_EQ(lists[0].tokens, std::vector<int32_t>{1});
  EXPECT_EQ(lists[1].tokens, (std::vector<int32_t>{0, 3}));

  const std::vector<Prompt> texts = prompts(R"(["", "x"])");
  ASSERT_EQ(texts.size(), 2u);
  EXPECT_EQ(texts[0].text, "");
  EXPECT_FALSE(texts[0].is_tokens);
  EXPECT_EQ(texts[1].text, "x");

  EXPECT_EQ(prompts(fmt::format("[{}]", repeated(R"("p")", kMaxPrompts))).size(), kMaxPrompts);
  EXPECT_EQ(prompts(fmt::format("[{}]", repeated("[1]", kMaxPrompts))).size(), kMaxPrompts);
  EXPECT_EQ(prompts(fmt::format("[{}]", repeated("1", 1000)))[0].tokens.size(), 1000u);  // one prompt
}

TEST(ParseRequest, NullIsAbsent) {
  const CompletionRequest request = chat(
      R"("model":null,"tools":null,"add_generation_prompt":null,"n":null,"stream":null,"stream_options":null,)"
      R"("max_tokens":null,"max_completion_tokens":null,"temperature":null,"top_p":null,"top_k":null,)"
      R"("min_p":null,"presence_penalty":null,"frequency_penalty":null,"repetition_penalty":null,"seed":null,)"
      R"("logit_bias":null,"stop":null,"stop_token_ids":null,"ignore_eos":null,"skip_special_tokens":null,)"
      R"("logprobs":null,"top_logprobs":null,"user":null)");
  EXPECT_EQ(request.tools_json, "");
  EXPECT_TRUE(request.add_generation_prompt);
  EXPECT_EQ(request.n, 1);
  EXPECT_FALSE(request.sampling.max_tokens);
  EXPECT_EQ(request.sampling.temperature, 1.0f);
  EXPECT_FALSE(request.sampling.seed);
  EXPECT_TRUE(request.sampling.stop.empty());
  EXPECT_FALSE(request.sampling.logprobs);

  EXPECT_EQ(completion(R"("max_tokens":null,"logprobs":null,"echo":null)").sampling.max_tokens, 16);
  EXPECT_FALSE(completion(R"("logprobs":null)").sampling.logprobs);
  EXPECT_FALSE(chat(R"("stream":true,"stream_options":{"include_usage":null})").include_usage);
}

TEST(ParseRequest, MaxCompletionTokensWins) {
  EXPECT_EQ(chat(R"("max_tokens":5)").sampling.max_tokens, 5);
  EXPECT_EQ(chat(R"("max_completion_tokens":6)").sampling.max_tokens, 6);
  EXPECT_EQ(chat(R"("max_tokens":5,"max_completion_tokens":6)").sampling.max_tokens, 6);
  EXPECT_EQ(chat(R"("max_completion_tokens":6,"max_tokens":5)").sampling.max_tokens, 6);
  EXPECT_EQ(chat(R"("max_completion_tokens":null,"max_tokens":5)").sampling.max_tokens, 5);
  EXPECT_EQ(completion(R"("max_tokens":5,"max_completion_tokens":6)").sampling.max_tokens, 6);
  EXPECT_EQ(chat(R"("max_tokens":2147483647)").sampling.max_tokens, 2147483647);
}

TEST(ParseRequest, Numbers) {
  EXPECT_EQ(chat(R"("n":2.0)").n, 2);  // an integral float is an integer
  EXPECT_EQ(chat(R"("max_tokens":1e2)").sampling.max_tokens, 100);
  EXPECT_EQ(chat(R"("temperature":0)").sampling.temperature, 0.0f);
  EXPECT_EQ(chat(R"("temperature":2)").sampling.temperature, 2.0f);
  EXPECT_EQ(chat(R"("top_p":1)").sampling.top_p, 1.0f);
  EXPECT_EQ(chat(R"("top_p":1e-9)").sampling.top_p, 1e-9f);
  EXPECT_EQ(chat(R"("top_k":-1)").sampling.top_k, 0);
  EXPECT_EQ(chat(R"("top_k":0)").sampling.top_k, 0);
  EXPECT_EQ(chat(R"("top_k":1)").sampling.top_k, 1);
  EXPECT_EQ(chat(R"("min_p":1)").sampling.min_p, 1.0f);
  EXPECT_EQ(chat(R"("presence_penalty":-2)").sampling.presence_penalty, -2.0f);
  EXPECT_EQ(chat(R"("repetition_penalty":0.01)").sampling.repetition_penalty, 0.01f);
  EXPECT_EQ(chat(R"("n":16)").n, 16);
}

TEST(ParseRequest, SeedKeepsItsBits) {
  EXPECT_EQ(chat(R"("seed":0)").sampling.seed, 0u);
  EXPECT_EQ(chat(R"("seed":-1)").sampling.seed, std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(chat(R"("seed":-9223372036854775808)").sampling.seed, uint64_t{1} << 63);
  EXPECT_EQ(chat(R"("seed":9223372036854775807)").sampling.seed, (uint64_t{1} << 63) - 1);
  EXPECT_EQ(chat(R"("seed":18446744073709551615)").sampling.seed, std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(chat(R"("seed":7.0)").sampling.seed, 7u);
}

TEST(ParseRequest, LogitBiasAndStops) {
  const CompletionRequest request =
      chat(R"("logit_bias":{"0":100,"2147483647":-100,"12":0.5,"012":1},"stop":"###","stop_token_ids":[0,7.0])");
  EXPECT_EQ(request.sampling.logit_bias,
            (std::map<sampler::TokenId, float>{{0, 100.0f}, {12, 1.0f}, {2147483647, -100.0f}}));
  EXPECT_EQ(request.sampling.stop, std::vector<std::string>{"###"});
  EXPECT_EQ(request.sampling.stop_token_ids, (std::vector<sampler::TokenId>{0, 7}));
  EXPECT_TRUE(chat(R"("stop":[],"stop_token_ids":[],"logit_bias":{})").sampling.stop.empty());
  const std::string many = fmt::format(R"("stop":[{}])", repeated(R"("s")", sampler::kMaxStopStrings));
  EXPECT_EQ(chat(many).sampling.stop.size(), sampler::kMaxStopStrings);
}

TEST(ParseRequest, StreamOptions) {
  EXPECT_TRUE(chat(R"("stream":true,"stream_options":{"include_usage":true})").include_usage);
  EXPECT_FALSE(chat(R"("stream":true,"stream_options":{"include_usage":false})").include_usage);
  EXPECT_FALSE(chat(R"("stream":true,"stream_options":{})").include_usage);
  EXPECT_TRUE(chat(R"("stream_options":{"include_usage":true},"stream":true)").include_usage);  // any order
  EXPECT_FALSE(chat(R"("stream":false,"stream_options":null)").stream);
}

TEST(ParseRequest, LastDuplicateWinsAndUnknownFieldsAreIgnored) {
  EXPECT_EQ(chat(R"("temperature":0.1,"temperature":0.2)").sampling.temperature, 0.2f);
  const CompletionRequest request =
      chat(R"("metadata":{"a":"b"},"parallel_tool_calls":true,"prompt":5,"echo":"x","suffix":"s","x":[1,{}])");
  EXPECT_TRUE(request.prompts.empty());  // chat ignores completion fields
  EXPECT_FALSE(request.echo);
  EXPECT_TRUE(completion(R"("messages":5,"add_generation_prompt":"x","tools":[{}],"tool_choice":"auto")")
                  .messages_json.empty());
}

// The error `body` gets, as "param | message".
std::string refusal(std::string_view body, Endpoint endpoint) {
  const ApiError error = rejection(body, endpoint);
  EXPECT_EQ(error.status(), 400) << body;
  return error.param() + " | " + error.what();
}

std::string chat_refusal(std::string_view fields) {
  return refusal(fmt::format("{{{},{}}}", kMessages, fields), Endpoint::chat);
}

std::string completion_refusal(std::string_view fields) {
  return refusal(fmt::format(R"({{"prompt":"hi",{}}})", fields), Endpoint::completion);
}

// kind | param | text of the request's output constraint.
std::string constraint_of(const CompletionRequest& r) {
  if (!r.constraint.kind) return "none";
  return fmt::format("{} | {} | {}", int(*r.constraint.kind), r.constraint.param, r.constraint.text);
}

TEST(ParseRequest, ReadsEveryDialectOfOutputConstraint) {
  using grammar::SourceKind;
  const auto kind = [](SourceKind k) { return std::to_string(int(k)); };
  const std::string schema = R"({"type":"object","properties":{"a":{"type":"integer"}}})";
  EXPECT_EQ(constraint_of(chat(fmt::format(R"("response_format":{{"type":"json_schema","json_schema":)"
                                           R"({{"name":"x","strict":true,"schema":{}}}}})", schema))),
            kind(SourceKind::json_schema) + " | response_format.json_schema.schema | " + schema);
  EXPECT_EQ(constraint_of(completion(R"("response_format":{"type":"json_object"})")),
            kind(SourceKind::json_object) + " | response_format | ");
  EXPECT_EQ(constraint_of(chat(fmt::format(R"("response_format":{{"type":"json_object","schema":{}}})", schema))),
            kind(SourceKind::json_schema) + " | response_format.schema | " + schema);
  EXPECT_EQ(constraint_of(chat(R"("response_format":{"type":"text"})")), "none");
  EXPECT_EQ(constraint_of(chat(fmt::format(R"("guided_json":{})", schema))),
            kind(SourceKind::json_schema) + " | guided_json | " + schema);
  EXPECT_EQ(constraint_of(chat(R"("guided_json":"{\"type\":\"string\"}")")),  // vLLM also takes the schema as text
            kind(SourceKind::json_schema) + R"( | guided_json | {"type":"string"})");
  EXPECT_EQ(constraint_of(completion(R"("guided_regex":"[a-z]+")")), kind(SourceKind::regex) + " | guided_regex | [a-z]+");
  EXPECT_EQ(constraint_of(chat(R"("guided_choice":["yes", "no"])")),
            kind(SourceKind::choice) + R"( | guided_choice | ["yes","no"])");
  EXPECT_EQ(constraint_of(chat(R"("guided_grammar":"root ::= \"a\"")")),
            kind(SourceKind::gbnf) + R"( | guided_grammar | root ::= "a")");
  EXPECT_EQ(constraint_of(completion(R"("grammar":"root ::= \"a\"")")),
            kind(SourceKind::gbnf) + R"( | grammar | root ::= "a")");
  EXPECT_EQ(constraint_of(chat(fmt::format(R"("json_schema":{})", schema))),
            kind(SourceKind::json_schema) + " | json_schema | " + schema);
  EXPECT_EQ(constraint_of(chat(R"("structured_outputs":{"regex":"a+","json":null})")),
            kind(SourceKind::regex) + " | structured_outputs.regex | a+");
  EXPECT_EQ(constraint_of(chat(R"("structured_outputs":{"json_object":true})")),
            kind(SourceKind::json_object) + " | structured_outputs.json_object | ");
}

TEST(ParseRequest, RefusesMalformedOrSeveralOutputConstraints) {
  EXPECT_EQ(chat_refusal(R"("response_format":"json")"),
            R"(response_format | "response_format" must be an object such as {"type":"json_object"}, got "json")");
  EXPECT_EQ(chat_refusal(R"("response_format":{"type":"yaml"})"),
            R"(response_format.type | "response_format.type" must be "text", "json_object" or "json_schema", got "yaml")");
  EXPECT_EQ(chat_refusal(R"("response_format":{"type":"json_schema"})"),
            R"(response_format.json_schema | "response_format.json_schema" must be an object such as )"
            R"({"name":"answer","schema":{…}})");
  EXPECT_EQ(chat_refusal(R"("guided_json":3)"), R"(guided_json | "guided_json" must be a JSON Schema (an object), got 3)");
  EXPECT_EQ(chat_refusal(R"("guided_choice":["a",1])"), R"(guided_choice[1] | "guided_choice[1]" must be a string, got 1)");
  EXPECT_EQ(chat_refusal(R"("structured_outputs":{"structural_tag":"x"})"),
            R"(structured_outputs.structural_tag | "structured_outputs.structural_tag" is not supported: give json, )"
            R"(regex, choice, grammar or json_object)");
  EXPECT_EQ(chat_refusal(R"("response_format":{"type":"json_object"},"guided_regex":"a")"),
            R"(guided_regex | "guided_regex" cannot be combined with "response_format": give one output constraint)");
  EXPECT_EQ(chat_refusal(R"("structured_outputs":{"regex":"a","choice":["a"]})"),
            R"(structured_outputs.choice | "structured_outputs.choice" cannot be combined with )"
            R"("structured_outputs.regex": give one)");
}

constexpr std::string_view kWeatherTools =
    R"([{"type":"function","function":{"name":"get_weather","description":"Weather in a city",)"
    R"("parameters":{"type":"object","properties":{"city":{"type":"string"}}},"strict":true}},)"
    R"({"function":{"name":"get-time_2"}}])";

TEST(ParseRequest, ToolsAndToolChoice) {
  const CompletionRequest request = chat(fmt::format(R"("tools":{})", kWeatherTools));
  ASSERT_EQ(request.tools.size(), 2u);
  EXPECT_EQ(request.tools[0].name, "get_weather");
  EXPECT_EQ(request.tools[0].description, "Weather in a city");
  EXPECT_EQ(request.tools[0].parameters_json, R"({"type":"object","properties":{"city":{"type":"string"}}})");
  EXPECT_EQ(request.tools[1].name, "get-time_2");  // "type" may be left out, as vLLM allows
  EXPECT_EQ(request.tools[1].description, "");
  EXPECT_EQ(request.tools[1].parameters_json, R"({"type":"object","properties":{}})");  // OpenAI's default
  EXPECT_EQ(request.tools_json, kWeatherTools);  // for the template, as sent
  // With tools, tool_choice is "auto" unless given, as OpenAI has it.
  EXPECT_EQ(request.tool_choice.kind, ToolChoice::Kind::automatic);
  EXPECT_TRUE(request.parallel_tool_calls);
  EXPECT_FALSE(request.constraint.kind);  // the model writes calls in its own format
  EXPECT_EQ(chat("").tool_choice.kind, ToolChoice::Kind::none);
  EXPECT_EQ(chat(R"("tools":[])").tool_choice.kind, ToolChoice::Kind::none);
  EXPECT_EQ(chat(R"("tools":[],"tool_choice":"auto")").tool_choice.kind, ToolChoice::Kind::none);  // nothing to call
  EXPECT_EQ(chat(fmt::format(R"("tools":{},"tool_choice":"none")", kWeatherTools)).tool_choice.kind,
            ToolChoice::Kind::none);
  EXPECT_EQ(chat(fmt::format(R"("tools":{},"tool_choice":"auto")", kWeatherTools)).tool_choice.kind,
            ToolChoice::Kind::automatic);
  EXPECT_FALSE(chat(fmt::format(R"("tools":{},"parallel_tool_calls":false)", kWeatherTools)).parallel_tool_calls);
}

TEST(ParseRequest, RequiredAndNamedToolChoicesConstrainTheOutput) {
  const CompletionRequest required =
      chat(fmt::format(R"("tools":{},"tool_choice":"required","parallel_tool_calls":false)", kWeatherTools));
  EXPECT_EQ(required.tool_choice.kind, ToolChoice::Kind::required);
  EXPECT_EQ(constraint_of(required),
            fmt::format("{} | tool_choice | {}", int(grammar::SourceKind::json_schema),
                        forced_tool_call_schema(required.tools, required.tool_choice, false)));
  EXPECT_NE(required.constraint.text.find(R"("maxItems":1)"), std::string::npos);
  const CompletionRequest named = chat(fmt::format(
      R"("tools":{},"tool_choice":{{"type":"function","function":{{"name":"get_weather"}}}})", kWeatherTools));
  EXPECT_EQ(named.tool_choice.kind, ToolChoice::Kind::named);
  EXPECT_EQ(named.tool_choice.name, "get_weather");
  EXPECT_EQ(constraint_of(named), fmt::format(R"({} | tool_choice | {{"type":"object","properties":{{"city":)"
                                              R"({{"type":"string"}}}}}})",
                                              int(grammar::SourceKind::json_schema)));
  // One constraint at a time: tool_choice "auto" leaves the output free for response_format.
  EXPECT_EQ(chat(fmt::format(R"("tools":{},"response_format":{{"type":"json_object"}})", kWeatherTools))
                .constraint.param,
            "response_format");
  EXPECT_EQ(chat_refusal(fmt::format(R"("tools":{},"tool_choice":"required",)"
                                     R"("response_format":{{"type":"json_schema","json_schema":{{"schema":{{}}}}}})",
                                     kWeatherTools)),
            R"(tool_choice | "tool_choice" "required" or a named function cannot be combined with "response_format": )"
            R"(both constrain the output)");
  EXPECT_EQ(chat_refusal(fmt::format(R"("tools":{},"tool_choice":{{"type":"function","function":{{"name":"get_weather"}}}},)"
                                     R"("guided_regex":"a")",
                                     kWeatherTools)),
            R"(tool_choice | "tool_choice" "required" or a named function cannot be combined with "guided_regex": )"
            R"(both constrain the output)");
}

TEST(ParseRequest, ToolErrorsNameTheField) {
  const auto tools_refusal = [](std::string_view tools, std::string_view more = "") {
    return chat_refusal(fmt::format(R"("tools":{}{})", tools, more));
  };
  EXPECT_EQ(tools_refusal("{}"), R"(tools | "tools" must be an array of tools, got an object)");
  EXPECT_EQ(tools_refusal(R"([{"function":{"name":"f"}}, 3])"),
            R"(tools[1] | "tools[1]" must be an object such as {"type":"function","function":{"name":"f"}}, got 3)");
  EXPECT_EQ(tools_refusal(R"([{"type":"code_interpreter"}])"),
            R"(tools[0].type | "tools[0].type" must be "function", got "code_interpreter")");
  EXPECT_EQ(tools_refusal(R"([{"type":"function"}])"),
            R"(tools[0].function | "tools[0].function" is required: an object such as )"
            R"({"type":"function","function":{"name":"f"}})");
  EXPECT_EQ(tools_refusal(R"([{"type":"function","function":{"description":"d"}}])"),
            R"(tools[0].function.name | "tools[0].function.name" is required)");
  EXPECT_EQ(tools_refusal(R"([{"function":{"name":"f"}},{"function":{"name":"get weather"}}])"),
            R"(tools[1].function.name | "tools[1].function.name" must be a name of 1 to 64 letters, digits, )"
            R"(underscores and dashes, got "get weather")");
  EXPECT_EQ(tools_refusal(fmt::format(R"([{{"function":{{"name":"{}"}}}}])", std::string(65, 'a'))),
            fmt::format(R"(tools[0].function.name | "tools[0].function.name" must be a name of 1 to 64 letters, )"
                        R"(digits, underscores and dashes, got "{}…")",
                        std::string(40, 'a')));
  EXPECT_EQ(tools_refusal(R"([{"function":{"name":"f","parameters":"{}"}}])"),
            R"(tools[0].function.parameters | "tools[0].function.parameters" must be a JSON Schema object, got "{}")");
  EXPECT_EQ(tools_refusal(R"([{"function":{"name":"f","description":7}}])"),
            R"(tools[0].function.description | "tools[0].function.description" must be a string, got 7)");
  EXPECT_EQ(tools_refusal(R"([{"function":{"name":"f","strict":"yes"}}])"),
            R"(tools[0].function.strict | "tools[0].function.strict" must be a boolean, got "yes")");
  EXPECT_EQ(tools_refusal(R"([{"function":{"name":"f"}},{"function":{"name":"g"}},{"function":{"name":"f"}}])"),
            R"(tools[2].function.name | "tools[2].function.name" is "f", as is tools[0]'s: function names must be )"
            R"(unique)");
  std::string many = "[";
  for (int i = 0; i < 129; ++i) many += fmt::format(R"({}{{"function":{{"name":"f{}"}}}})", i ? "," : "", i);
  EXPECT_EQ(tools_refusal(many + "]"), R"(tools | "tools" holds more than 128 tools)");
  EXPECT_EQ(tools_refusal(kWeatherTools, R"(,"tool_choice":"any")"),
            R"(tool_choice | "tool_choice" must be "none", "auto", "required" or )"
            R"({"type":"function","function":{"name":…}}, got "any")");
  EXPECT_EQ(tools_refusal(kWeatherTools, R"(,"tool_choice":{"function":{"name":"get_weather"}})"),
            R"(tool_choice.type | "tool_choice.type" must be "function")");
  EXPECT_EQ(tools_refusal(kWeatherTools, R"(,"tool_choice":{"type":"function","function":{}})"),
            R"(tool_choice.function.name | "tool_choice.function.name" is required: the function to call)");
  EXPECT_EQ(tools_refusal(kWeatherTools, R"(,"tool_choice":{"type":"function","function":{"name":"get_time"}})"),
            R"(tool_choice.function.name | "tool_choice.function.name" is "get_time", which is none of the )"
            R"(functions in "tools")");
  EXPECT_EQ(chat_refusal(R"("tool_choice":"required")"),
            R"(tool_choice | "tool_choice" "required" needs "tools": there is no function to call)");
  EXPECT_EQ(chat_refusal(R"("tool_choice":{"type":"function","function":{"name":"f"}})"),
            R"(tool_choice.function.name | "tool_choice.function.name" is "f", which is none of the functions in )"
            R"("tools")");
  EXPECT_EQ(tools_refusal(kWeatherTools, R"(,"parallel_tool_calls":1)"),
            R"(parallel_tool_calls | "parallel_tool_calls" must be a boolean, got 1)");
}

TEST(ParseRequest, RefusesLegacyFunctions) {
  EXPECT_EQ(chat_refusal(R"("functions":[{"name":"f"}])"),
            R"(functions | legacy "functions" are not supported: send them as "tools" (or send "function_call": )"
            R"("none"))");
  EXPECT_EQ(chat_refusal(R"("function_call":"auto")"),
            R"(function_call | "function_call" must be "none" or absent (legacy "functions" are not supported: use )"
            R"("tools" and "tool_choice"), got "auto")");
  EXPECT_EQ(chat_refusal(R"("functions":[{"name":"f"}],"tool_choice":"none")"),
            R"(functions | legacy "functions" are not supported: send them as "tools" (or send "function_call": )"
            R"("none"))");
  EXPECT_EQ(chat_refusal(R"("functions":{},"function_call":"none")"),
            R"(functions | "functions" must be an array of objects, got an object)");
}

TEST(ParseRequest, RefusesOtherUnimplementedFields) {
  EXPECT_EQ(completion_refusal(R"("suffix":"}")"),
            R"(suffix | "suffix" is not supported yet (no insertion after the completion); omit it or send "")");
  EXPECT_EQ(completion_refusal(R"("suffix":1)"), R"(suffix | "suffix" must be a string, got 1)");
  EXPECT_EQ(completion_refusal(R"("best_of":2)"),
            R"(best_of | "best_of" greater than 1 is not supported yet; omit it or send 1 (for several choices, )"
            R"(use "n"))");
  EXPECT_EQ(chat_refusal(R"("best_of":3)"),
            R"(best_of | "best_of" greater than 1 is not supported yet; omit it or send 1 (for several choices, )"
            R"(use "n"))");
  EXPECT_EQ(completion_refusal(R"("best_of":1.5)"),
            R"(best_of | "best_of" must be an integer between 1 and 2147483647, got 1.5)");
  EXPECT_EQ(completion_refusal(R"("best_of":0)"),
            R"(best_of | "best_of" must be an integer between 1 and 2147483647, got 0)");
  EXPECT_EQ(chat_refusal(R"("modalities":["text","audio"])"),
            R"(modalities[1] | "modalities[1]" must be "text" (this model writes text only), got "audio")");
  EXPECT_EQ(chat_refusal(R"("modalities":"text")"),
            R"(modalities | "modalities" must be an array such as ["text"], got "text")");
  EXPECT_EQ(chat_refusal(R"("audio":{"voice":"alloy","format":"wav"})"),
            R"(audio | "audio" output is not supported: this model writes text only; omit it)");
}

TEST(ParseRequest, AcceptsTheFormsThatAskForNothingUnimplemented) {
  constexpr std::string_view kTool = R"([{"type":"function","function":{"name":"f"}}])";
  // The template may still show the tools that the model is not asked to call.
  EXPECT_EQ(chat(fmt::format(R"("tools":{},"tool_choice":"none")", kTool)).tools_json, kTool);
  EXPECT_EQ(chat(fmt::format(R"("tool_choice":"none","tools":{})", kTool)).tools_json, kTool);
  EXPECT_EQ(chat(R"("tools":[])").tools_json, "[]");
  EXPECT_EQ(chat(R"("tools":[],"tool_choice":null,"functions":[],"function_call":null)").tools_json, "[]");
  EXPECT_EQ(chat(R"("functions":[{"name":"f"}],"function_call":"none")").tools_json, "");
  EXPECT_EQ(chat(R"("response_format":{"type":"text"},"modalities":["text"],"best_of":1)").n, 1);
  EXPECT_EQ(completion(R"("suffix":"","best_of":1.0,"response_format":{"type":"text"})").prompts.size(), 1u);
  const std::string nulls =
      R"("response_format":null,"tool_choice":null,"functions":null,"function_call":null,"suffix":null,)"
      R"("best_of":null,"modalities":null,"audio":null,"guided_json":null,"guided_regex":null,)"
      R"("guided_choice":null,"guided_grammar":null,"structured_outputs":null,"grammar":null,"json_schema":null)";
  EXPECT_EQ(chat(nulls).n, 1);
  EXPECT_EQ(completion(nulls).prompts.size(), 1u);
}

TEST(ParseRequest, BodyErrors) {
  expect_rejected("", Endpoint::chat, "", "not valid JSON");
  expect_rejected("{", Endpoint::chat, "", "not valid JSON");
  expect_rejected(R"({"messages":[]} x)", Endpoint::chat, "", "not valid JSON");
  expect_rejected("{\"messages\":\"\xFF\"}", Endpoint::chat, "", "not valid JSON");  // not UTF-8
  expect_rejected(std::string(5000, '['), Endpoint::chat, "", "not valid JSON");     // too deep
  expect_rejected("[1]", Endpoint::chat, "", "the body is not a JSON object: got an array");
  expect_rejected(R"("x")", Endpoint::completion, "", R"(the body is not a JSON object: got "x")");
  expect_rejected("null", Endpoint::completion, "", "not a JSON object");
}

TEST(ParseRequest, ChatErrors) {
  expect_rejected("{}", Endpoint::chat, "messages", "\"messages\" is required");
  expect_rejected(R"({"messages":null})", Endpoint::chat, "messages", "\"messages\" is required");
  expect_rejected(R"({"messages":[]})", Endpoint::chat, "messages", "non-empty array");
  expect_rejected(R"({"messages":"hi"})", Endpoint::chat, "messages", "\"messages\" must be");
  expect_rejected(R"({"messages":{}})", Endpoint::chat, "messages", "got an object");
  expect_rejected(R"({"messages":[1]})", Endpoint::chat, "messages[0]", "\"messages[0]\" must be an object, got 1");
  expect_rejected(R"({"messages":[{},[]]})", Endpoint::chat, "messages[1]", "got an array");
  expect_chat_rejected(R"("tools":{})", "tools");
  expect_chat_rejected(R"("tools":[{"function":{"name":"f"}},"f"])", "tools[1]");
  expect_chat_rejected(R"("add_generation_prompt":1)", "add_generation_prompt", "must be a boolean, got 1");
  expect_chat_rejected(R"("logprobs":1)", "logprobs", "\"logprobs\" must be a boolean");
  expect_chat_rejected(R"("logprobs":true,"top_logprobs":21)", "top_logprobs", "between 0 and 20");
  expect_chat_rejected(R"("logprobs":true,"top_logprobs":-1)", "top_logprobs");
  expect_chat_rejected(R"("top_logprobs":2)", "top_logprobs", "requires \"logprobs\" to be true");
  expect_chat_rejected(R"("logprobs":false,"top_logprobs":0)", "top_logprobs", "requires");
}

TEST(ParseRequest, CompletionPromptErrors) {
  const auto expect_prompt_rejected = [](std::string_view prompt, std::string_view param, std::string_view mention) {
    expect_rejected(fmt::format(R"({{"prompt":{}}})", prompt), Endpoint::completion, param, mention);
  };
  expect_rejected("{}", Endpoint::completion, "prompt", "\"prompt\" is required");
  expect_prompt_rejected("null", "prompt", "\"prompt\" is required");
  expect_prompt_rejected("[]", "prompt", "\"prompt\" must not be an empty array");
  expect_prompt_rejected("5", "prompt", "\"prompt\" must be a string");
  expect_prompt_rejected("{}", "prompt", "got an object");
  expect_prompt_rejected("[true]", "prompt[0]", "got true");
  expect_prompt_rejected("[null]", "prompt[0]", "got null");
  expect_prompt_rejected("[{}]", "prompt[0]", "got an object");
  expect_prompt_rejected(R"(["a",1])", "prompt[1]", "\"prompt[1]\" must be a string, got 1");
  expect_prompt_rejected(R"([1,"a"])", "prompt[1]", "\"prompt[1]\" must be a token id");
  expect_prompt_rejected("[1,-1]", "prompt[1]", "got -1");
  expect_prompt_rejected("[2147483648]", "prompt[0]", "got 2147483648");
  expect_prompt_rejected("[18446744073709551615]", "prompt[0]", "token id");
  expect_prompt_rejected("[1.5]", "prompt[0]", "got 1.5");
  expect_prompt_rejected("[[1],[]]", "prompt[1]", "\"prompt[1]\" must not be an empty array");
  expect_prompt_rejected(R"([[1],["a"]])", "prompt[1][0]", "\"prompt[1][0]\" must be a token id");
  expect_prompt_rejected("[[1],2]", "prompt[1]", "must be an array of token ids, got 2");
  expect_prompt_rejected(fmt::format("[{}]", repeated(R"("p")", kMaxPrompts + 1)), "prompt", "more than 64 prompts");
  expect_prompt_rejected(fmt::format("[{}]", repeated("[1]", kMaxPrompts + 1)), "prompt", "more than 64 prompts");
}

TEST(ParseRequest, CompletionErrors) {
  expect_completion_rejected(R"("echo":1)", "echo", "\"echo\" must be a boolean");
  expect_completion_rejected(R"("logprobs":true)", "logprobs", "\"logprobs\" must be an integer between 0 and 5");
  expect_completion_rejected(R"("logprobs":6)", "logprobs", "got 6");
  expect_completion_rejected(R"("logprobs":-1)", "logprobs");
  expect_completion_rejected(R"("max_tokens":0)", "max_tokens");
}

TEST(ParseRequest, FieldErrors) {
  expect_chat_rejected(R"("temperature":"hot")", "temperature",
                       R"("temperature" must be a number between 0 and 2, got "hot")");
  // The whole message, for one case.
  EXPECT_STREQ(rejection(fmt::format(R"({{{},"temperature":"hot"}})", kMessages), Endpoint::chat).what(),
               R"("temperature" must be a number between 0 and 2, got "hot")");
  expect_chat_rejected(R"("temperature":-0.1)", "temperature", "got -0.1");
  expect_chat_rejected(R"("temperature":2.0001)", "temperature");
  expect_chat_rejected(R"("temperature":true)", "temperature", "got true");
  expect_chat_rejected(R"("temperature":[1])", "temperature", "got an array");
  expect_chat_rejected(R"("model":5)", "model", "\"model\" must be a string, got 5");
  expect_chat_rejected(R"("user":{})", "user", "\"user\" must be a string");
  expect_chat_rejected(R"("n":0)", "n", "\"n\" must be an integer between 1 and 16, got 0");
  expect_chat_rejected(R"("n":17)", "n", "got 17");
  expect_chat_rejected(R"("n":1.5)", "n", "got 1.5");
  expect_chat_rejected(R"("n":"2")", "n", R"(got "2")");
  expect_chat_rejected(R"("n":true)", "n");
  expect_chat_rejected(R"("n":1e300)", "n");
  expect_chat_rejected(R"("stream":"true")", "stream", "\"stream\" must be a boolean");
  expect_chat_rejected(R"("stream":1)", "stream");
  expect_chat_rejected(R"("stream_options":{"include_usage":true})", "stream_options",
                       "\"stream_options\" can only be set when \"stream\" is true");
  expect_chat_rejected(R"("stream":false,"stream_options":{})", "stream_options", "\"stream\" is true");
  expect_chat_rejected(R"("stream":true,"stream_options":true)", "stream_options", "must be an object");
  expect_chat_rejected(R"("stream":true,"stream_options":{"include_usage":1})", "stream_options.include_usage",
                       "\"stream_options.include_usage\" must be a boolean, got 1");
  expect_chat_rejected(R"("max_tokens":0)", "max_tokens",
                       "\"max_tokens\" must be at least 1 (0 only with \"echo\": true, to score the prompt)");
  expect_chat_rejected(R"("max_tokens":-5)", "max_tokens");
  expect_chat_rejected(R"("max_tokens":"5")", "max_tokens");
  expect_chat_rejected(R"("max_tokens":2.5)", "max_tokens");
  expect_chat_rejected(R"("max_tokens":2147483648)", "max_tokens");
  expect_chat_rejected(R"("max_tokens":5,"max_completion_tokens":0)", "max_completion_tokens");
  expect_chat_rejected(R"("max_completion_tokens":{})", "max_completion_tokens");
  expect_chat_rejected(R"("top_p":0)", "top_p", "\"top_p\" must be a number greater than 0 and at most 1");
  expect_chat_rejected(R"("top_p":1.01)", "top_p");
  expect_chat_rejected(R"("top_p":"1")", "top_p");
  expect_chat_rejected(R"("top_k":-2)", "top_k", "\"top_k\" must be an integer");
  expect_chat_rejected(R"("top_k":2.5)", "top_k");
  expect_chat_rejected(R"("min_p":1.5)", "min_p", "\"min_p\" must be a number between 0 and 1");
  expect_chat_rejected(R"("min_p":-0.1)", "min_p");
  expect_chat_rejected(R"("presence_penalty":2.5)", "presence_penalty", "between -2 and 2");
  expect_chat_rejected(R"("frequency_penalty":-3)", "frequency_penalty", "between -2 and 2");
  expect_chat_rejected(R"("frequency_penalty":"0")", "frequency_penalty");
  expect_chat_rejected(R"("repetition_penalty":0)", "repetition_penalty", "greater than 0");
  expect_chat_rejected(R"("repetition_penalty":-1)", "repetition_penalty");
  expect_chat_rejected(R"("repetition_penalty":1e300)", "repetition_penalty");  // not a float
  expect_chat_rejected(R"("seed":1.5)", "seed", "\"seed\" must be an integer, got 1.5");
  expect_chat_rejected(R"("seed":"1")", "seed");
  expect_chat_rejected(R"("seed":1e30)", "seed");
  expect_chat_rejected(R"("ignore_eos":1)", "ignore_eos", "\"ignore_eos\" must be a boolean");
  expect_chat_rejected(R"("skip_special_tokens":"no")", "skip_special_tokens", "must be a boolean");
}

TEST(ParseRequest, LogitBiasErrors) {
  expect_chat_rejected(R"("logit_bias":[])", "logit_bias", "\"logit_bias\" must be an object");
  expect_chat_rejected(R"("logit_bias":{"abc":1})", "logit_bias", R"(keys must be token ids (integers from 0 to 2147483647), got "abc")");
  expect_chat_rejected(R"("logit_bias":{"":1})", "logit_bias", "keys must be token ids");
  expect_chat_rejected(R"("logit_bias":{"-1":1})", "logit_bias", "keys must be token ids");
  expect_chat_rejected(R"("logit_bias":{"1.0":1})", "logit_bias", "keys must be token ids");
  expect_chat_rejected(R"("logit_bias":{"2147483648":1})", "logit_bias", "keys must be token ids");
  expect_chat_rejected(R"("logit_bias":{"99999999999":1})", "logit_bias", "keys must be token ids");
  expect_chat_rejected(R"("logit_bias":{"5":101})", "logit_bias", "values must be numbers between -100 and 100, got 101 for token 5");
  expect_chat_rejected(R"("logit_bias":{"5":-100.5})", "logit_bias", "between -100 and 100");
  expect_chat_rejected(R"("logit_bias":{"5":"1"})", "logit_bias", R"(got "1" for token 5)");
  expect_chat_rejected(R"("logit_bias":{"5":null})", "logit_bias", "got null");
  std::string many;
  for (int i = 0; i <= 1024; ++i) many += fmt::format(R"({}"{}":1)", i > 0 ? "," : "", i);
  expect_chat_rejected(fmt::format(R"("logit_bias":{{{}}})", many), "logit_bias", "more than 1024 entries");
}

TEST(ParseRequest, StopErrors) {
  expect_chat_rejected(R"("stop":"")", "stop", "\"stop\" must be a non-empty string");
  expect_chat_rejected(R"("stop":5)", "stop", "\"stop\" must be a string or an array of strings, got 5");
  expect_chat_rejected(R"("stop":{})", "stop");
  expect_chat_rejected(R"("stop":[""])", "stop[0]", R"("stop[0]" must be a non-empty string, got "")");
  expect_chat_rejected(R"("stop":["a",1])", "stop[1]", "got 1");
  expect_chat_rejected(R"("stop":["a",null])", "stop[1]", "got null");
  expect_chat_rejected(fmt::format(R"("stop":[{}])", repeated(R"("s")", sampler::kMaxStopStrings + 1)), "stop",
                       "more than 16 stop strings");
  // Each choice keeps its own copies of the stop strings, so their length is bounded too (4096 bytes).
  const std::string longest(4096, 's');
  EXPECT_EQ(chat(fmt::format(R"("stop":["{}"])", longest)).sampling.stop, std::vector<std::string>{longest});
  expect_chat_rejected(fmt::format(R"("stop":"{}s")", longest), "stop",
                       R"("stop" is 4097 bytes long; a stop string may have at most 4096)");
  expect_chat_rejected(fmt::format(R"("stop":["a","{}"])", std::string(5000, 's')), "stop[1]",
                       R"("stop[1]" is 5000 bytes long)");
  expect_chat_rejected(R"("stop_token_ids":3)", "stop_token_ids", "\"stop_token_ids\" must be an array");
  expect_chat_rejected(R"("stop_token_ids":[1,-1])", "stop_token_ids[1]", "\"stop_token_ids[1]\" must be a token id");
  expect_chat_rejected(R"("stop_token_ids":["1"])", "stop_token_ids[0]");
  expect_chat_rejected(fmt::format(R"("stop_token_ids":[{}])", repeated("1", 1025)), "stop_token_ids",
                       "more than 1024");
}

TEST(ParseRequest, LongValuesAreCutShortInMessages) {
  const std::string value(1000, 'x');
  const ApiError error = rejection(fmt::format(R"({{{},"temperature":"{}"}})", kMessages, value), Endpoint::chat);
  EXPECT_EQ(error.param(), "temperature");
  EXPECT_LT(std::string_view(error.what()).size(), 120u);
  EXPECT_NE(std::string_view(error.what()).find("xxx\xE2\x80\xA6\""), std::string_view::npos) << error.what();
  // A cut never splits a character.
  std::string euros;
  for (int i = 0; i < 30; ++i) euros += "\xE2\x82\xAC";  // 3 bytes each: 40 bytes end inside one
  const ApiError cut = rejection(fmt::format(R"({{{},"temperature":"{}"}})", kMessages, euros), Endpoint::chat);
  EXPECT_NE(std::string_view(cut.what()).find("\xE2\x82\xAC\xE2\x80\xA6"), std::string_view::npos) << cut.what();
}

// The error a /tokenize or /detokenize body gets; fails the test when it parses.
template <typename Parse>
ApiError refusal(Parse parse) {
  try {
    parse();
  } catch (const ApiError& error) {
    return error;
  }
  ADD_FAILURE() << "accepted";
  return ApiError(0, "");
}

TEST(ParseTokenizeRequest, PromptOrMessagesWithFlags) {
  const TokenizeRequest prompt = parse_tokenize_request(R"({"prompt":"Hi <s>","add_special_tokens":false})");
  EXPECT_EQ(prompt.prompt, "Hi <s>");
  EXPECT_FALSE(prompt.add_special_tokens);
  EXPECT_TRUE(prompt.add_generation_prompt);
  const TokenizeRequest chat =
      parse_tokenize_request(R"({"messages": [{"role": "user", "content": "hi"}], "add_generation_prompt": false})");
  EXPECT_FALSE(chat.prompt);
  EXPECT_EQ(chat.messages_json, R"([{"role":"user","content":"hi"}])");
  EXPECT_FALSE(chat.add_generation_prompt);
  EXPECT_EQ(refusal([] { parse_tokenize_request("[]"); }).status(), 400);
  EXPECT_EQ(refusal([] { parse_tokenize_request(R"({"prompt":1})"); }).param(), "prompt");
  EXPECT_EQ(refusal([] { parse_tokenize_request(R"({"prompt":"a","add_special_tokens":null})"); }).param(),
            "add_special_tokens");
}

// At most 2048 chat messages, refused in OpenAI's words: each is rendered and tokenized on the shard that parsed it,
// and 100,000 held a shard for half a second.
TEST(ParseRequest, AtMost2048MessagesInOpenAisWords) {
  const auto messages = [](size_t n) {
    std::string list = "[";
    for (size_t i = 0; i < n; ++i) list += fmt::format(R"({}{{"role":"user","content":"m{}"}})", i ? "," : "", i);
    return list + "]";
  };
  const std::string most = messages(kMaxMessages);
  EXPECT_EQ(parse_completion_request(fmt::format(R"({{"messages":{}}})", most), Endpoint::chat).messages_json, most);
  EXPECT_EQ(refusal(fmt::format(R"({{"messages":{}}})", messages(kMaxMessages + 1)), Endpoint::chat),
            "messages | Invalid 'messages': array too long. Expected an array with maximum length 2048, but got an "
            "array with length 2049 instead.");
  EXPECT_EQ(parse_tokenize_request(fmt::format(R"({{"messages":{}}})", most)).messages_json, most);
  const ApiError tokenize =
      refusal([&] { parse_tokenize_request(fmt::format(R"({{"messages":{}}})", messages(kMaxMessages + 1))); });
  EXPECT_EQ(tokenize.param(), "messages");
  EXPECT_EQ(tokenize.status(), 400);
}

TEST(ParseDetokenizeRequest, IdsInTheVocabulary) {
  EXPECT_EQ(parse_detokenize_request(R"({"tokens":[0,5,9]})", 10), (std::vector<int32_t>{0, 5, 9}));
  EXPECT_TRUE(parse_detokenize_request(R"({"tokens":[]})", 10).empty());
  EXPECT_EQ(refusal([] { parse_detokenize_request(R"({"tokens":"1"})", 10); }).param(), "tokens");
  const ApiError outside = refusal([] { parse_detokenize_request(R"({"tokens":[1,10]})", 10); });
  EXPECT_EQ(outside.param(), "tokens[1]");
  EXPECT_STREQ(outside.what(), R"("tokens[1]" must be a token id from 0 to 9)");
  EXPECT_EQ(refusal([] { parse_detokenize_request(R"({"tokens":[-1]})", 10); }).param(), "tokens[0]");
  EXPECT_EQ(refusal([] { parse_detokenize_request("not json", 10); }).status(), 400);
}

}  // namespace
}  // namespace rs::api
