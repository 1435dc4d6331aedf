// Chat messages as OpenAI clients send them, from the request body to the
// prompt: content parts, the tool round trip, and the 400s that name the field
// at fault, with the built-in demo model's tokenizer and no server.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "core/api/openai_request.h"
#include "core/api/prompt.h"
#include "core/api/serving_model.h"
#include "core/app/demo_model.h"
#include "core/template/chat_template.h"
#include "core/tokenizer/tokenizer.h"
#include "tests/support/ci.h"

namespace rs::api {
namespace {

const tokenizer::Tokenizer& demo_tokenizer() {
  static const tokenizer::Tokenizer tokenizer = [] {
    const DemoModelFile demo;
    return tokenizer::Tokenizer(tokenizer::read_vocab(demo.path()));
  }();
  return tokenizer;
}

std::string bos_text() {
  const tokenizer::Vocab& vocab = demo_tokenizer().vocab();
  return vocab.tokens.at(size_t(vocab.bos));
}

ServingModel model_with(chat::ChatTemplate chat_template) {
  ServingModel model;
  model.id = "demo";
  model.tokenizer = &demo_tokenizer();
  model.chat_template = std::move(chat_template);
  model.ctx_size = 4096;
  return model;
}

ServingModel builtin(std::string_view name) { return model_with(chat::ChatTemplate::builtin(name)); }

std::vector<PreparedPrompt> prepare(const ServingModel& model, std::string_view messages) {
  return prepare_prompts(parse_completion_request(fmt::format(R"({{"messages":{}}})", messages), Endpoint::chat),
                         model);
}

// The 400 that `messages` get, as "param | message".
std::string rejection(const ServingModel& model, std::string_view messages) {
  try {
    prepare(model, messages);
  } catch (const ApiError& error) {
    EXPECT_EQ(error.status(), 400) << messages;
    return error.param() + " | " + error.what();
  }
  return "accepted";
}

// OpenAI's tool round trip: the assistant's turn calls a tool (content null), the tool answers.
constexpr std::string_view kToolRoundTrip = R"([
  {"role": "developer", "content": "Use the tools."},
  {"role": "user", "content": [{"type": "text", "text": "Weather in Paris?"}]},
  {"role": "assistant", "content": null, "tool_calls": [
    {"id": "call_1", "type": "function", "function": {"name": "weather", "arguments": "{\"city\":\"Paris\"}"}}]},
  {"role": "tool", "tool_call_id": "call_1", "content": "22 C"}])";

TEST(ChatMessages, TextPartsRenderAsTheirTextJoined) {
  const std::string messages =
      R"([{"role": "user", "content": [{"type": "text", "text": "Hi"}, {"type": "text", "text": "there"}]}])";
  EXPECT_EQ(render_chat(builtin("chatml"), messages, "", true),
            "<|im_start|>user\nHi\nthere<|im_end|>\n<|im_start|>assistant\n");
  EXPECT_EQ(render_chat(builtin("llama3"), messages, "", true),
            bos_text() +
                "<|start_header_id|>user<|end_header_id|>\n\nHi\nthere<|eot_id|>"
                "<|start_header_id|>assistant<|end_header_id|>\n\n");
}

TEST(ChatMessages, AToolRoundTripRendersThroughChatml) {
  const ServingModel model = builtin("chatml");
  const std::string expected =
      "<|im_start|>system\nUse the tools.<|im_end|>\n<|im_start|>user\nWeather in Paris?<|im_end|>\n"
      "<|im_start|>assistant\n<|im_end|>\n<|im_start|>tool\n22 C<|im_end|>\n<|im_start|>assistant\n";
  EXPECT_EQ(render_chat(model, kToolRoundTrip, "", true), expected);
  const std::vector<PreparedPrompt> prompts = prepare(model, kToolRoundTrip);
  ASSERT_EQ(prompts.size(), 1u);
  EXPECT_EQ(prompts[0].text, expected);
  EXPECT_FALSE(prompts[0].tokens.empty());
}

TEST(ChatMessages, AToolRoundTripRendersThroughLlama3) {
  EXPECT_EQ(render_chat(builtin("llama3"), kToolRoundTrip, "", true),
            bos_text() +
                "<|start_header_id|>system<|end_header_id|>\n\nUse the tools.<|eot_id|>"
                "<|start_header_id|>user<|end_header_id|>\n\nWeather in Paris?<|eot_id|>"
                "<|start_header_id|>assistant<|end_header_id|>\n\n<|eot_id|>"
                "<|start_header_id|>tool<|end_header_id|>\n\n22 C<|eot_id|>"
                "<|start_header_id|>assistant<|end_header_id|>\n\n");
}

// The real templates live in ../shared, beside the checkout; "" when they are not there.
std::string shared_template(const std::string& file) {
  std::ifstream in(RINGSERVE_SOURCE_DIR "/../shared/templates/" + file, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

constexpr std::string_view kWeatherTool =
    R"([{"type":"function","function":{"name":"weather","parameters":{"type":"object",)"
    R"("properties":{"city":{"type":"string"}}}}}])";

// OpenAI sends the call's arguments as JSON text; the templates write the object (tojson), as vLLM gives it them.
TEST(ChatMessages, AToolRoundTripRendersThroughQwen25AsTransformersDoes) {
  const std::string source = shared_template("qwen2.5.jinja");
  if (source.empty()) RS_SKIP_UNLESS_CI("../shared/templates/qwen2.5.jinja is missing");
  const ServingModel model = model_with(chat::ChatTemplate::parse(source, "qwen2.5"));
  EXPECT_EQ(render_chat(model, kToolRoundTrip, kWeatherTool, true),
            "<|im_start|>system\nUse the tools.\n\n# Tools\n\nYou may call one or more functions to assist with the "
            "user query.\n\nYou are provided with function signatures within <tools></tools> XML tags:\n<tools>\n"
            R"({"type": "function", "function": {"name": "weather", "parameters": {"type": "object", "properties": )"
            R"({"city": {"type": "string"}}}}})"
            "\n</tools>\n\nFor each function call, return a json object with function name and arguments within "
            "<tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": "
            "<args-json-object>}\n</tool_call><|im_end|>\n"
            "<|im_start|>user\nWeather in Paris?<|im_end|>\n"
            "<|im_start|>assistant\n<tool_call>\n{\"name\": \"weather\", \"arguments\": {\"city\": \"Paris\"}}\n"
            "</tool_call><|im_end|>\n"
            "<|im_start|>user\n<tool_response>\n22 C\n</tool_response><|im_end|>\n"
            "<|im_start|>assistant\n");
}

TEST(ChatMessages, AToolRoundTripRendersThroughLlama31AsTransformersDoes) {
  const std::string source = shared_template("llama3.1.jinja");
  if (source.empty()) RS_SKIP_UNLESS_CI("../shared/templates/llama3.1.jinja is missing");
  const ServingModel model = model_with(chat::ChatTemplate::parse(source, "llama3.1"));
  EXPECT_EQ(render_chat(model, kToolRoundTrip, kWeatherTool, true),
            bos_text() +
                "<|start_header_id|>system<|end_header_id|>\n\nEnvironment: ipython\nCutting Knowledge Date: "
                "December 2023\nToday Date: 26 Jul 2024\n\nUse the tools.<|eot_id|>"
                "<|start_header_id|>user<|end_header_id|>\n\nGiven the following functions, please respond with a "
                "JSON for a function call with its proper arguments that best answers the given prompt.\n\n"
                "Respond in the format {\"name\": function name, \"parameters\": dictionary of argument name and its "
                "value}.Do not use variables.\n\n"
                "{\n    \"type\": \"function\",\n    \"function\": {\n        \"name\": \"weather\",\n        "
                "\"parameters\": {\n            \"type\": \"object\",\n            \"properties\": {\n                "
                "\"city\": {\n                    \"type\": \"string\"\n                }\n            }\n        }\n"
                "    }\n}\n\nWeather in Paris?<|eot_id|>"
                "<|start_header_id|>assistant<|end_header_id|>\n\n{\"name\": \"weather\", \"parameters\": "
                "{\"city\": \"Paris\"}}<|eot_id|>"
                "<|start_header_id|>ipython<|end_header_id|>\n\n\"22 C\"<|eot_id|>"
                "<|start_header_id|>assistant<|end_header_id|>\n\n");
}

TEST(ChatMessages, ABadMessageIsA400NamingItsField) {
  const ServingModel model = builtin("chatml");
  EXPECT_EQ(rejection(model, R"([{"role": "user", "content": "Hi"},
                                 {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}])"),
            "messages[1].content[0] | content parts of type \"image_url\" are not supported: this model reads text "
            "only");
  EXPECT_EQ(rejection(model, R"([{"role": "wizard", "content": "Hi"}])"),
            "messages[0].role | messages[0].role must be \"system\", \"developer\", \"user\", \"assistant\", "
            "\"tool\" or \"function\", got \"wizard\"");
  EXPECT_EQ(rejection(model, R"([{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"},
                                 {"role": "user"}])"),
            "messages[2].content | messages[2].content is required: a string or an array of content parts");
  EXPECT_EQ(rejection(model, R"([{"role": "user", "content": "Hi"}, {"role": "assistant", "content": null}])"),
            "messages[1].content | messages[1].content is required: a string or an array of content parts");
}

TEST(ChatMessages, ATemplatesOwnRaiseReachesTheClient) {
  EXPECT_EQ(rejection(builtin("llama2"), R"([{"role": "user", "content": "Hi"}, {"role": "user", "content": "Hi"}])"),
            "messages | the chat template (llama2) rejected the messages: Conversation roles must alternate "
            "user/assistant/user/assistant/...");
}

TEST(ChatMessages, InterpreterErrorsAreLoggedNotShown) {
  const ServingModel model =
      model_with(chat::ChatTemplate::parse("{% for m in messages %}{{ m.content + m.name }}{% endfor %}", "strict"));
  testing::internal::CaptureStderr();
  const std::string answer = rejection(model, R"([{"role": "user", "content": "Hi"}])");
  const std::string log = testing::internal::GetCapturedStderr();
  EXPECT_EQ(answer, "messages | the chat template (strict) cannot render these messages");
  EXPECT_NE(log.find("WARN"), std::string::npos) << log;
  EXPECT_NE(log.find("the chat template (strict) failed on a request's messages: template 'strict', line 1:"),
            std::string::npos)
      << log;
}

}  // namespace
}  // namespace rs::api
