// Choosing a chat template (override, model template, ChatML fallback with one
// warning), the OpenAI messages it renders, and what the template sees.
#include "core/template/chat_template.h"

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
    messages_from_json(R"([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}])");

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

TEST(MessagesFromJson, KeepsEveryFieldForTheTemplate) {
  const jinja::Value messages = messages_from_json(
      R"([{"role": "assistant", "content": null,
           "tool_calls": [{"id": "call1", "function": {"name": "f", "arguments": "{}"}}]},
          {"role": "user", "content": [{"type": "text", "text": "hi"}]}])");
  ASSERT_EQ(messages.as_array().size(), 2u);
  EXPECT_EQ(messages.repr(),
            "[{'role': 'assistant', 'content': None, 'tool_calls': [{'id': 'call1', 'function': {'name': 'f', "
            "'arguments': '{}'}}]}, {'role': 'user', 'content': [{'type': 'text', 'text': 'hi'}]}]");
}

TEST(MessagesFromJson, NamesTheBadField) {
  const auto error = [](std::string_view json) {
    try {
      messages_from_json(json);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_EQ(error(R"({"role": "user"})"), "messages must be a JSON array");
  EXPECT_EQ(error(R"([{"role": "user", "content": "a"}, "text"])"), "messages[1] is not an object");
  EXPECT_EQ(error(R"([{"role": "user", "content": "a"}, {"content": "b"}])"), "messages[1].role is missing");
  EXPECT_EQ(error(R"([{"role": 7, "content": "a"}])"), "messages[0].role is not a string");
  EXPECT_EQ(error(R"([{"role": "user", "content": 7}])"),
            "messages[0].content must be a string, an array of content parts or null");
  EXPECT_EQ(error(R"([{"role": "user",)"),
            "invalid JSON: The JSON document has an improper structure: missing or "
            "superfluous commas, braces, missing keys, etc.");
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

TEST(ChatContext, StrftimeNowFormatsTheLocalTime) {
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  char year[8];
  std::strftime(year, sizeof year, "%Y", &local);
  EXPECT_EQ(ChatTemplate::parse("{{ strftime_now('%Y') }}", "probe").render(kConversation, {}), year);
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
  }
}

}  // namespace
}  // namespace rs::chat
