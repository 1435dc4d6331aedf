// Choosing a chat template (override, model template, ChatML fallback with one
// warning), the OpenAI messages it renders, and what the template sees.
#include "core/template/chat_template.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <ctime>
#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

#include "core/template/builtin_templates.h"
#include "core/template/error.h"
#include "core/template/json.h"

namespace rs::chat {
namespace {

const jinja::Value kConversation =
    messages_from_json(R"([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}])",
                       ChatTemplate::builtin("chatml"));

// Runs `body` and returns what it logged.
template <typename Body>
std::string logged_by(Body body) {
  testing::internal::CaptureStderr();
  body();
  return testing::internal::GetCapturedStderr();
}

size_t count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

class TemporaryFile {
 public:
  TemporaryFile(const std::string& name, const std::string& contents)
      : path_(std::filesystem::temp_directory_path() / (std::to_string(::getpid()) + "-" + name)) {
    std::ofstream(path_) << contents;
  }
  ~TemporaryFile() { std::filesystem::remove(path_); }
  std::string path() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

TEST(SelectChatTemplate, UsesTheModelsTemplateSilently) {
  const std::string log = logged_by([] {
    const ChatTemplate chosen = select_chat_template("", "{% for m in messages %}[{{ m.role }}]{% endfor %}");
    EXPECT_EQ(chosen.render(kConversation, {}), "[system][user]");
  });
  EXPECT_EQ(log, "");
}

TEST(SelectChatTemplate, FallsBackToChatMLWithOneWarningWithoutATemplate) {
  const std::string log = logged_by([] {
    const ChatTemplate chosen = select_chat_template("", "");
    EXPECT_EQ(chosen.name(), "chatml");
    EXPECT_EQ(chosen.render(kConversation, {}),
              "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
  });
  EXPECT_EQ(count(log, "WARN"), 1u) << log;
  EXPECT_NE(log.find("the model has no chat template"), std::string::npos) << log;
  EXPECT_NE(log.find("--chat-template"), std::string::npos) << log;
}

TEST(SelectChatTemplate, FallsBackWithTheReasonWhenTheModelsTemplateIsUnsupported) {
  const std::string log =
      logged_by([] { EXPECT_EQ(select_chat_template("", "line one\n{% include 'header.jinja' %}").name(), "chatml"); });
  EXPECT_EQ(count(log, "WARN"), 1u) << log;
  EXPECT_NE(log.find("line 2: the 'include' tag is not supported"), std::string::npos) << log;
  EXPECT_NE(log.find("built-in 'chatml'"), std::string::npos) << log;
}

TEST(SelectChatTemplate, OverridesByBuiltinName) {
  const std::string log = logged_by([] {
    const ChatTemplate chosen = select_chat_template("llama3", "{{ 'the model template' }}");
    EXPECT_EQ(chosen.name(), "llama3");
    ChatContext context;
    context.bos_token = "<|begin_of_text|>";
    EXPECT_EQ(
        chosen.render(kConversation, context),
        "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
        "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n");
  });
  EXPECT_EQ(log, "");
}

TEST(SelectChatTemplate, OverridesByFile) {
  const TemporaryFile file("ringserve_chat_template_test.jinja",
                           "{% for m in messages %}{{ m.content }}|{% endfor %}\n");
  const ChatTemplate chosen = select_chat_template(file.path(), "");
  EXPECT_EQ(chosen.name(), file.path());
  EXPECT_EQ(chosen.render(kConversation, {}), "Be brief.|Hi|");
}

TEST(SelectChatTemplate, AnOverrideThatDoesNotParseIsAnError) {
  const TemporaryFile file("ringserve_bad_chat_template_test.jinja", "{% for m in messages %}");
  EXPECT_THROW(select_chat_template(file.path(), ""), jinja::TemplateError);
}

TEST(SelectChatTemplate, AnUnknownNameListsTheBuiltins) {
  try {
    select_chat_template("llama9", "");
    FAIL() << "no error";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(),
                 "--chat-template 'llama9' is neither a built-in template (chatml, gemma, llama2, llama3, mistral, "
                 "phi3, smollm2, zephyr) nor a file");
  }
  EXPECT_THROW(ChatTemplate::builtin("nope"), std::invalid_argument);
}

TEST(BuiltinTemplates, AllRenderAConversation) {
  ChatContext context;
  context.bos_token = "<s>";
  context.eos_token = "</s>";
  EXPECT_EQ(builtin_template_names().size(), 8u);
  for (std::string_view name : builtin_template_names()) {
    EXPECT_NE(ChatTemplate::builtin(name).render(kConversation, context).find("Hi"), std::string::npos) << name;
  }
}

TEST(BuiltinTemplates, GemmaFoldsTheSystemMessageIntoTheFirstTurn) {
  ChatContext context;
  context.bos_token = "<bos>";
  EXPECT_EQ(ChatTemplate::builtin("gemma").render(kConversation, context),
            "<bos><start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n<start_of_turn>model\n");
}

// A template that reads content parts itself, as newer Hugging Face templates do; it joins them with nothing.
const ChatTemplate kReadsParts = ChatTemplate::parse(
    "{% for m in messages %}{{ m.role }}: {% if m.content is string %}{{ m.content }}"
    "{% else %}{% for part in m.content %}{{ part.text }}{% endfor %}{% endif %}|{% endfor %}",
    "reads_parts");

std::string repr_of(std::string_view json, const ChatTemplate& chat_template = ChatTemplate::builtin("chatml")) {
  return messages_from_json(json, chat_template).repr();
}

TEST(MessagesFromJson, KeepsEveryFieldForTheTemplate) {
  EXPECT_EQ(repr_of(R"([{"role": "user", "content": "hi", "name": "ann"},
                        {"role": "assistant", "content": "a", "tool_calls": []}])"),
            "[{'role': 'user', 'content': 'hi', 'name': 'ann'}, {'role': 'assistant', 'content': 'a', "
            "'tool_calls': []}]");
}

TEST(MessagesFromJson, AnAssistantTurnThatCallsToolsMayHaveNoContent) {
  EXPECT_EQ(repr_of(R"([{"role": "assistant", "content": null,
                         "tool_calls": [{"id": "call1", "function": {"name": "f", "arguments": "{}"}}]},
                        {"role": "assistant", "function_call": {"name": "f", "arguments": "{}"}}])"),
            "[{'role': 'assistant', 'content': '', 'tool_calls': [{'id': 'call1', 'function': {'name': 'f', "
            "'arguments': {}}}]}, {'role': 'assistant', 'function_call': {'name': 'f', 'arguments': '{}'}, "
            "'content': ''}]");
}

// OpenAI sends a call's arguments as JSON text; templates write them with tojson or iterate them, as transformers
// gets them from vLLM: the object. Text that holds no object stays text.
TEST(MessagesFromJson, ToolCallArgumentsAreTheObjectTheirTextHolds) {
  EXPECT_EQ(repr_of(R"([{"role": "assistant", "content": "", "tool_calls": [
                          {"id": "a", "type": "function", "function": {"name": "f", "arguments": "{\"x\": [1, \"y\"]}"}},
                          {"id": "b", "type": "function", "function": {"name": "g", "arguments": "not json"}},
                          {"id": "c", "type": "function", "function": {"name": "h", "arguments": "[1]"}},
                          {"id": "d", "type": "function", "function": {"name": "i", "arguments": {"z": 1}}}]}])"),
            "[{'role': 'assistant', 'content': '', 'tool_calls': ["
            "{'id': 'a', 'type': 'function', 'function': {'name': 'f', 'arguments': {'x': [1, 'y']}}}, "
            "{'id': 'b', 'type': 'function', 'function': {'name': 'g', 'arguments': 'not json'}}, "
            "{'id': 'c', 'type': 'function', 'function': {'name': 'h', 'arguments': '[1]'}}, "
            "{'id': 'd', 'type': 'function', 'function': {'name': 'i', 'arguments': {'z': 1}}}]}]");
  // "tool_calls": null, as SDKs send back a plain answer, is no key at all (Llama 3.1 tests `'tool_calls' in m`).
  EXPECT_EQ(repr_of(R"([{"role": "assistant", "content": "Hi", "tool_calls": null, "refusal": null}])"),
            "[{'role': 'assistant', 'content': 'Hi', 'refusal': None}]");
}

TEST(MessagesFromJson, DeveloperIsSystemForTheTemplate) {
  EXPECT_EQ(repr_of(R"([{"role": "developer", "content": "Be brief."}])"),
            "[{'role': 'system', 'content': 'Be brief.'}]");
}

TEST(MessagesFromJson, JoinsTextPartsWithNewlinesForATemplateThatReadsStrings) {
  EXPECT_EQ(repr_of(R"([{"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
                        {"role": "user", "content": []}])"),
            "[{'role': 'user', 'content': 'a\\nb'}, {'role': 'user', 'content': ''}]");
}

TEST(MessagesFromJson, PassesPartsUnchangedToATemplateThatReadsThem) {
  EXPECT_TRUE(kReadsParts.reads_content_parts());
  const std::string parts = R"([{"type": "text", "text": "a"}, {"type": "text", "text": "b", "x": 1}])";
  const jinja::Value messages = messages_from_json(fmt::format(R"([{{"role": "user", "content": {}}}])", parts),
                                                   kReadsParts);
  EXPECT_EQ(messages.repr(),
            "[{'role': 'user', 'content': [{'type': 'text', 'text': 'a'}, {'type': 'text', 'text': 'b', 'x': 1}]}]");
  EXPECT_EQ(kReadsParts.render(messages, {}), "user: ab|");
}

// The error messages_from_json throws for `json`: its field, then its message.
std::string error(std::string_view json) {
  try {
    messages_from_json(json, ChatTemplate::builtin("chatml"));
  } catch (const MessageError& e) {
    return e.field() + " | " + e.what();
  }
  return "accepted";
}

TEST(MessagesFromJson, NamesTheBadField) {
  EXPECT_EQ(error(R"({"role": "user"})"), "messages | messages must be a JSON array");
  EXPECT_EQ(error(R"([{"role": "user", "content": "a"}, "text"])"), "messages[1] | messages[1] is not an object");
  EXPECT_EQ(error(R"([{"role": "user", "content": "a"}, {"content": "b"}])"),
            "messages[1].role | messages[1].role is missing");
  EXPECT_EQ(error(R"([{"role": 7, "content": "a"}])"), "messages[0].role | messages[0].role is not a string");
  EXPECT_EQ(error(R"([{"role": "user", "content": "a"}, {"role": "wizard", "content": "b"}])"),
            "messages[1].role | messages[1].role must be \"system\", \"developer\", \"user\", \"assistant\", "
            "\"tool\" or \"function\", got \"wizard\"");
  EXPECT_EQ(error(R"([{"role": "user", "content": 7}])"),
            "messages[0].content | messages[0].content must be a string or an array of content parts");
  EXPECT_EQ(error(R"([{"role": "user",)"),
            "messages | invalid JSON: The JSON document has an improper structure: missing or "
            "superfluous commas, braces, missing keys, etc.");
}

TEST(MessagesFromJson, ContentIsRequiredExceptOnToolCalls) {
  EXPECT_EQ(error(R"([{"role": "user"}])"),
            "messages[0].content | messages[0].content is required: a string or an array of content parts");
  EXPECT_EQ(error(R"([{"role": "user", "content": "a"}, {"role": "assistant", "content": null}])"),
            "messages[1].content | messages[1].content is required: a string or an array of content parts");
  EXPECT_EQ(error(R"([{"role": "assistant", "content": null, "tool_calls": null}])"),
            "messages[0].content | messages[0].content is required: a string or an array of content parts");
  EXPECT_EQ(error(R"([{"role": "tool", "tool_call_id": "call1", "tool_calls": []}])"),
            "messages[0].content | messages[0].content is required: a string or an array of content parts");
}

TEST(MessagesFromJson, OnlyTextPartsAreAccepted) {
  EXPECT_EQ(error(R"([{"role": "system", "content": "a"},
                      {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}])"),
            "messages[1].content[0] | content parts of type \"image_url\" are not supported: this model reads text "
            "only");
  for (const std::string_view type : {"input_audio", "file", "refusal"}) {
    EXPECT_EQ(error(fmt::format(R"([{{"role": "user", "content": [{{"type": "text", "text": "a"}},
                                                                  {{"type": "{}"}}]}}])",
                                type)),
              fmt::format("messages[0].content[1] | content parts of type \"{}\" are not supported: this model "
                          "reads text only",
                          type));
  }
  EXPECT_EQ(error(R"([{"role": "user", "content": [{"type": "text", "text": null}]}])"),
            "messages[0].content[0] | messages[0].content[0] is a \"text\" part without a string \"text\"");
  EXPECT_EQ(error(R"([{"role": "user", "content": [{"type": "text"}]}])"),
            "messages[0].content[0] | messages[0].content[0] is a \"text\" part without a string \"text\"");
  EXPECT_EQ(error(R"([{"role": "user", "content": ["a"]}])"),
            "messages[0].content[0] | messages[0].content[0] must be a content part such as {\"type\": \"text\", "
            "\"text\": \"Hi\"}");
  EXPECT_EQ(error(R"([{"role": "user", "content": [{"text": "a"}]}])"),
            "messages[0].content[0] | messages[0].content[0] must be a content part such as {\"type\": \"text\", "
            "\"text\": \"Hi\"}");
}

TEST(MessagesFromJson, QuotesALongValueCutShort) {
  EXPECT_EQ(error(fmt::format(R"([{{"role": "{}é", "content": "a"}}])", std::string(39, 'r'))),
            fmt::format("messages[0].role | messages[0].role must be \"system\", \"developer\", \"user\", "
                        "\"assistant\", \"tool\" or \"function\", got \"{}\xE2\x80\xA6\"",
                        std::string(39, 'r')));
}

// Every built-in template renders text parts exactly as their text joined with newlines.
TEST(BuiltinTemplates, RenderTextPartsAsTheJoinedString) {
  ChatContext context;
  context.bos_token = "<s>";
  context.eos_token = "</s>";
  const std::string parts = R"([
      {"role": "system", "content": [{"type": "text", "text": "Be"}, {"type": "text", "text": "brief."}]},
      {"role": "user", "content": [{"type": "text", "text": "Hi"}]},
      {"role": "assistant", "content": [{"type": "text", "text": "Hello"}]},
      {"role": "user", "content": [{"type": "text", "text": "How"}, {"type": "text", "text": "are you?"}]}])";
  const std::string strings = R"([{"role": "system", "content": "Be\nbrief."}, {"role": "user", "content": "Hi"},
      {"role": "assistant", "content": "Hello"}, {"role": "user", "content": "How\nare you?"}])";
  for (const std::string_view name : builtin_template_names()) {
    SCOPED_TRACE(name);
    const ChatTemplate chat_template = ChatTemplate::builtin(name);
    EXPECT_FALSE(chat_template.reads_content_parts());
    const std::string expected = chat_template.render(messages_from_json(strings, chat_template), context);
    EXPECT_NE(expected.find("How\nare you?"), std::string::npos) << expected;
    EXPECT_EQ(chat_template.render(messages_from_json(parts, chat_template), context), expected);
  }
}

TEST(ChatTemplateProbe, ATemplateThatFailsOnPartsOrShowsThemOtherwiseReadsStrings) {
  EXPECT_FALSE(ChatTemplate::parse("{{ messages[0].content + '!' }}", "concatenates").reads_content_parts());
  EXPECT_FALSE(ChatTemplate::parse("{{ messages[0].content }}", "prints").reads_content_parts());
  EXPECT_FALSE(ChatTemplate::parse("{{ raise_exception('no') }}", "raises").reads_content_parts());
  EXPECT_TRUE(ChatTemplate::parse("{{ messages | length }}", "ignores content").reads_content_parts());
}

TEST(ChatContext, IsWhatTheTemplateSees) {
  const ChatTemplate probe = ChatTemplate::parse(
      "{{ bos_token is defined }} {{ eos_token }} {{ add_generation_prompt }} {{ tools is none }} "
      "{{ documents is none }} {{ date_string }} {{ strftime_now('%Y') | length }}",
      "probe");
  ChatContext context;
  context.eos_token = "</s>";
  context.add_generation_prompt = false;
  context.variables.emplace_back("date_string", jinja::Value("01 Jan 2025"));
  EXPECT_EQ(probe.render(kConversation, context), "False </s> False True True 01 Jan 2025 4");

  context.tools = jinja::value_from_json(R"([{"type": "function", "function": {"name": "f"}}])");
  EXPECT_EQ(ChatTemplate::parse("{{ tools[0].function.name }}", "probe").render(kConversation, context), "f");
}

std::string local_date_now() {
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  char date[32];
  return std::string(date, std::strftime(date, sizeof date, "%Y-%m-%d", &local));
}

// The date read before and after the render: one of them is the render's, even across midnight (or New Year).
TEST(ChatContext, StrftimeNowFormatsTheLocalTime) {
  const ChatTemplate probe = ChatTemplate::parse("{{ strftime_now('%Y-%m-%d') }}", "probe");
  const std::string before = local_date_now();
  const std::string rendered = probe.render(kConversation, {});
  const std::string after = local_date_now();
  EXPECT_TRUE(rendered == before || rendered == after) << rendered << " is neither " << before << " nor " << after;
}

TEST(ChatContext, RaiseExceptionBecomesARenderError) {
  const ChatTemplate strict = ChatTemplate::parse(
      "{% for m in messages %}\n{% if m.role == 'system' %}\n{{ raise_exception('System role not supported') }}\n"
      "{% endif %}\n{% endfor %}",
      "strict");
  try {
    strict.render(kConversation, {});
    FAIL() << "no error";
  } catch (const jinja::TemplateError& e) {
    EXPECT_STREQ(e.what(), "template 'strict', line 3: System role not supported");
    EXPECT_EQ(e.reason(), "System role not supported");
    EXPECT_TRUE(e.raised_by_template());
  }
}

// Only raise_exception's message is meant for users: the interpreter's own errors are not raised_by_template().
TEST(ChatContext, InterpreterErrorsAreNotRaisedByTheTemplate) {
  const auto raised = [](std::string_view source) {
    try {
      ChatTemplate::parse(source, "failing").render(kConversation, {});
    } catch (const jinja::TemplateError& e) {
      return e.raised_by_template();
    }
    ADD_FAILURE() << "rendered: " << source;
    return true;
  };
  EXPECT_FALSE(raised("{{ messages[0].content + 1 }}"));
  EXPECT_FALSE(raised("{{ messages[0].nope.content }}"));
  EXPECT_FALSE(raised("{{ raise_exception('a', 'b') }}"));
  EXPECT_FALSE(raised("{% for m in messages %}{{ m | nofilter }}{% endfor %}"));
  EXPECT_TRUE(raised("{% macro fail(m) %}{{ raise_exception(m) }}{% endmacro %}{{ fail('x') }}"));
}

}  // namespace
}  // namespace rs::chat
