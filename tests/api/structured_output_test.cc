// Structured output end to end: the stories model (a real tiny Llama) on the
// CPU engine, sampling at temperature 1 under many seeds, so the constraint
// and not the model is what makes the output valid. Every answer that stops
// is checked against its schema by grammar::matches (the plain recursive
// matcher the automaton is tested against) and parsed as JSON; only a
// max_tokens cut ("length") may be incomplete.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <simdjson.h>

#include <filesystem>
#include <regex>

#include "core/app/model_service.h"
#include "core/base/json_write.h"
#include "core/grammar/gbnf.h"
#include "core/grammar/json_schema.h"
#include "tests/support/ci.h"
#include "tests/support/loopback_api.h"

namespace rs::test {
namespace {

const std::string kStories = RINGSERVE_SOURCE_DIR "/../shared/models/stories260K.gguf";

class StructuredOutput : public testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(kStories)) RS_SKIP_UNLESS_CI(kStories + " is missing");
    ModelServiceOptions options;
    options.model = kStories;
    options.threads = 1;
    options.ctx_size = 512;
    options.limits = {.max_batch_tokens = 512, .max_seqs = 32, .ctx_size = 512};
    service_ = std::make_unique<ModelService>(options);
    api::ApiOptions api_options;
    api_options.max_in_flight = 64;
    api_ = std::make_unique<LoopbackApi>(api_options);
    api_->api().serve(service_->serving(), service_->engine());
  }
  void TearDown() override {
    if (api_) api_->stop();
  }

  // The body of a chat request for a story, with `fields` added.
  static std::string chat(std::string_view fields, uint64_t seed, int max_tokens = 200) {
    return fmt::format(R"({{"messages":[{{"role":"user","content":"Once upon a time"}}],"temperature":1,)"
                       R"("seed":{},"max_tokens":{},{}}})",
                       seed, max_tokens, fields);
  }

  struct Answer {
    int status = 0;
    std::string content, finish_reason, error_param, error;
  };

  Answer ask(const std::string& body, std::string_view path = "/v1/chat/completions") {
    const std::optional<HttpResponse> r = api_->post(path, body);
    EXPECT_TRUE(r) << body;
    if (!r) return {};
    Answer a;
    a.status = r->status;
    simdjson::dom::element root;
    EXPECT_EQ(parser_.parse(r->body).get(root), simdjson::SUCCESS) << r->body;
    if (r->status != 200) {
      std::string_view text;
      if (!root["error"]["param"].get(text)) a.error_param = text;
      if (!root["error"]["message"].get(text)) a.error = text;
      return a;
    }
    const auto choice = root["choices"].at(0);
    std::string_view text;
    if (!choice["message"]["content"].get(text) || !choice["text"].get(text)) a.content = text;
    if (!choice["finish_reason"].get(text)) a.finish_reason = text;
    return a;
  }

  std::unique_ptr<ModelService> service_;
  std::unique_ptr<LoopbackApi> api_;
  simdjson::dom::parser parser_;
};

constexpr std::string_view kSchemas[] = {
    R"({"type":"object","properties":{"name":{"type":"string","maxLength":12},"age":{"type":"integer"}},)"
    R"("required":["name","age"],"additionalProperties":false})",
    R"({"type":"object","properties":{"mood":{"enum":["happy","sad",null]},"ok":{"type":"boolean"},)"
    R"("where":{"type":"object","properties":{"town":{"type":"string","maxLength":6}},"required":["town"]}},)"
    R"("required":["mood","where"]})",
    R"({"type":"array","items":{"type":"string","maxLength":5},"minItems":1,"maxItems":3})",
    R"({"anyOf":[{"type":"integer"},{"type":"string","maxLength":8},{"type":"null"}]})",
    R"({"$defs":{"pair":{"type":"object","properties":{"k":{"const":"x"},"v":{"type":"number"}},)"
    R"("required":["k","v"]}},"type":"object","properties":{"pairs":{"type":"array","items":{"$ref":"#/$defs/pair"},)"
    R"("maxItems":2}},"required":["pairs"]})",
};

TEST_F(StructuredOutput, EveryAnswerThatStopsIsValidAgainstItsSchema) {
  int stopped = 0;
  for (const std::string_view schema : kSchemas) {
    const rs::grammar::Grammar grammar = rs::grammar::json_schema_grammar(schema);
    for (uint64_t seed = 1; seed <= 12; ++seed) {
      const std::string format =
          fmt::format(R"("response_format":{{"type":"json_schema","json_schema":{{"name":"x","strict":true,)"
                      R"("schema":{}}}}})",
                      schema);
      const Answer a = ask(chat(format, seed));
      ASSERT_EQ(a.status, 200) << a.error;
      ASSERT_TRUE(a.finish_reason == "stop" || a.finish_reason == "length") << a.finish_reason;
      if (a.finish_reason != "stop") continue;
      ++stopped;
      EXPECT_TRUE(rs::grammar::matches(grammar, a.content)) << schema << "\n" << a.content;
      simdjson::dom::element parsed;
      EXPECT_EQ(parser_.parse(a.content).get(parsed), simdjson::SUCCESS) << a.content;
    }
  }
  EXPECT_GT(stopped, 40);  // the constraint, not max_tokens, ends most of them
}

TEST_F(StructuredOutput, JsonObjectModeAndEveryDialectConstrainTheOutput) {
  for (uint64_t seed = 1; seed <= 6; ++seed) {
    const Answer object = ask(chat(R"("response_format":{"type":"json_object"})", seed, 300));
    ASSERT_EQ(object.status, 200) << object.error;
    if (object.finish_reason == "stop") {
      simdjson::dom::element parsed;
      ASSERT_EQ(parser_.parse(object.content).get(parsed), simdjson::SUCCESS) << object.content;
      EXPECT_EQ(parsed.type(), simdjson::dom::element_type::OBJECT) << object.content;
    }
    const Answer choice = ask(chat(R"("guided_choice":["dragon","princess","frog"])", seed));
    EXPECT_TRUE(choice.content == "dragon" || choice.content == "princess" || choice.content == "frog")
        << choice.content;
    EXPECT_EQ(choice.finish_reason, "stop");
    const Answer regex = ask(chat(R"("guided_regex":"[A-Z][a-z]{2,5}-[0-9]{3}")", seed));
    EXPECT_TRUE(std::regex_match(regex.content, std::regex("[A-Z][a-z]{2,5}-[0-9]{3}"))) << regex.content;
    const Answer gbnf =
        ask(chat(R"("grammar":"root ::= (\"yes\" | \"no\") (\" \" [a-z]{1,4})?")", seed), "/v1/chat/completions");
    EXPECT_TRUE(std::regex_match(gbnf.content, std::regex("(yes|no)( [a-z]{1,4})?"))) << gbnf.content;
    const Answer completion =
        ask(fmt::format(R"({{"prompt":"Once","seed":{},"temperature":1,"max_tokens":50,"structured_outputs":)"
                        R"({{"regex":"(cat|dog)s? [0-9]+"}}}})",
                        seed),
            "/v1/completions");
    EXPECT_TRUE(std::regex_match(completion.content, std::regex("(cat|dog)s? [0-9]+"))) << completion.content;
  }
}

TEST_F(StructuredOutput, TheSameSeedGivesTheSameAnswerStreamedOrNot) {
  const std::string format = fmt::format(R"("guided_json":{})", kSchemas[1]);
  const Answer whole = ask(chat(format, 5));
  const std::optional<HttpResponse> streamed =
      api_->post("/v1/chat/completions", chat(format + R"(,"stream":true)", 5));
  ASSERT_TRUE(streamed);
  std::string text;
  for (size_t at = 0; (at = streamed->body.find("\"content\":\"", at)) != std::string::npos;) {
    at += 11;
    const size_t end = streamed->body.find("\"}", at);
    std::string_view piece(streamed->body.data() + at, end - at);
    simdjson::dom::element unquoted;
    const std::string quoted = "\"" + std::string(piece) + "\"";
    ASSERT_EQ(parser_.parse(quoted).get(unquoted), simdjson::SUCCESS);
    text += std::string(unquoted.get_string().value_unsafe());
  }
  EXPECT_EQ(text, whole.content);
  EXPECT_EQ(ask(chat(format, 5)).content, whole.content);  // compiled once, cached: the same again
}

TEST_F(StructuredOutput, InvalidOrUnsupportedConstraintsAre400NamingTheField) {
  Answer a = ask(chat(R"("response_format":{"type":"json_schema","json_schema":{"name":"x","schema":)"
                      R"({"type":"array","uniqueItems":true}}})",
                      1));
  EXPECT_EQ(a.status, 400);
  EXPECT_EQ(a.error_param, "response_format.json_schema.schema");
  EXPECT_NE(a.error.find("uniqueItems"), std::string::npos) << a.error;
  a = ask(chat(R"("guided_regex":"(a")", 1));
  EXPECT_EQ(a.status, 400);
  EXPECT_EQ(a.error_param, "guided_regex");
  a = ask(chat(R"("guided_regex":"(?=a)b")", 1));
  EXPECT_EQ(a.status, 400);
  EXPECT_NE(a.error.find("lookahead"), std::string::npos) << a.error;
  a = ask(chat(R"("grammar":"start ::= \"a\"")", 1));
  EXPECT_EQ(a.status, 400);
  EXPECT_EQ(a.error_param, "grammar");
  EXPECT_NE(a.error.find("root"), std::string::npos) << a.error;
  a = ask(chat(R"("guided_json":"{not json")", 1));
  EXPECT_EQ(a.status, 400);
  EXPECT_EQ(a.error_param, "guided_json");
  // The server is unaffected.
  EXPECT_EQ(ask(chat(R"("guided_choice":["a"])", 1)).content, "a");
}

}  // namespace
}  // namespace rs::test
