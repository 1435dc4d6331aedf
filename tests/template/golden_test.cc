// The real Hugging Face chat templates under ../shared/templates against the
// goldens that make_goldens.py recorded with Python's jinja2, byte for byte,
// errors included; and the built-in templates against their families' goldens.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "core/template/chat_template.h"
#include "core/template/error.h"
#include "core/template/json.h"
#include "tests/support/ci.h"

namespace rs::chat {
namespace {

const std::string kTemplates = RINGSERVE_SOURCE_DIR "/../shared/templates/";
const std::string kGoldens = RINGSERVE_SOURCE_DIR "/tests/data/templates/goldens.json";

std::string read_file(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) throw std::runtime_error("cannot read " + path);
  std::ostringstream contents;
  contents << file.rdbuf();
  return contents.str();
}

const jinja::Object& goldens() {
  static const jinja::Value parsed = jinja::value_from_json(read_file(kGoldens));
  return parsed.as_object();
}

const jinja::Value& field(const jinja::Value& object, std::string_view key) {
  static const jinja::Value missing;
  const jinja::Value* value = object.as_object().find(key);
  return value ? *value : missing;
}

struct GoldenCase {
  std::string name;     // for the test's name
  jinja::Value golden;  // one entry of "cases"
};

std::ostream& operator<<(std::ostream& out, const GoldenCase& c) { return out << c.name; }

std::vector<GoldenCase> golden_cases() {
  std::vector<GoldenCase> cases;
  for (const jinja::Value& golden : goldens().find("cases")->as_array()) {
    std::string name = field(golden, "template").as_string() + "_" + field(golden, "conversation").as_string() +
                       (field(golden, "add_generation_prompt").as_bool() ? "" : "_no_prompt");
    for (char& c : name) {
      if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
    }
    cases.push_back({name, golden});
  }
  return cases;
}

// The context make_goldens.py rendered `golden` with.
ChatContext context_of(const jinja::Value& golden) {
  ChatContext context;
  if (const jinja::Value& bos = field(golden, "bos_token"); bos.is_string()) context.bos_token = bos.as_string();
  if (const jinja::Value& eos = field(golden, "eos_token"); eos.is_string()) context.eos_token = eos.as_string();
  context.add_generation_prompt = field(golden, "add_generation_prompt").as_bool();
  const jinja::Value& conversation =
      *goldens().find("conversations")->as_object().find(field(golden, "conversation").as_string());
  if (const jinja::Value& tools = field(conversation, "tools"); !tools.is_undefined()) context.tools = tools;
  for (const auto& [name, value] : goldens().find("variables")->as_object())
    context.variables.emplace_back(name, value);
  return context;
}

const jinja::Value& messages_of(const jinja::Value& golden) {
  const jinja::Value& conversation =
      *goldens().find("conversations")->as_object().find(field(golden, "conversation").as_string());
  return field(conversation, "messages");
}

// Renders `messages` in `golden`'s context with `chat_template` and checks the output, or the error.
void expect_matches(const ChatTemplate& chat_template, const jinja::Value& golden, const jinja::Value& messages) {
  const jinja::Value& expected = field(golden, "output");
  try {
    const std::string output = chat_template.render(messages, context_of(golden));
    ASSERT_TRUE(expected.is_string()) << "rendered, but jinja2 failed with: " << field(golden, "error").str()
                                      << "\noutput: " << output;
    EXPECT_EQ(output, expected.as_string());
  } catch (const jinja::TemplateError& e) {
    ASSERT_TRUE(expected.is_undefined()) << "failed with " << e.what() << "\nexpected: " << expected.str();
    // raise_exception's message must come through as the template wrote it.
    if (field(golden, "raised").as_bool()) {
      EXPECT_EQ(e.reason(), field(golden, "error").as_string());
    }
  }
}

void expect_matches(const ChatTemplate& chat_template, const jinja::Value& golden) {
  expect_matches(chat_template, golden, messages_of(golden));
}

// `messages` as OpenAI's clients send them: a tool call's arguments as JSON text, where transformers takes a dict.
std::string openai_json(const jinja::Value& messages) {
  jinja::Array sent;
  for (const jinja::Value& message : messages.as_array()) {
    jinja::Object m = message.as_object();
    if (const jinja::Value* calls = m.find("tool_calls"); calls != nullptr && calls->is_array()) {
      jinja::Array texts;
      for (const jinja::Value& call : calls->as_array()) {
        jinja::Object c = call.as_object();
        jinja::Object function = c.find("function")->as_object();
        function.set("arguments", jinja::to_json(*function.find("arguments")));
        c.set("function", jinja::Value(std::move(function)));
        texts.emplace_back(std::move(c));
      }
      m.set("tool_calls", jinja::Value(std::move(texts)));
    }
    sent.emplace_back(std::move(m));
  }
  return jinja::to_json(jinja::Value(std::move(sent)));
}

// The real templates live in ../shared, beside the checkout: without them these
// tests skip, except under CI (CI set to any value), where they must be there.
class SharedTemplates : public testing::Test {
 protected:
  void SetUp() override {
    if (std::filesystem::is_directory(kTemplates)) return;
    RS_SKIP_UNLESS_CI(kTemplates + " is missing (the real templates live in ../shared)");
  }
};

class RealTemplates : public SharedTemplates, public testing::WithParamInterface<GoldenCase> {};

TEST_P(RealTemplates, RenderLikeTransformers) {
  const jinja::Value& golden = GetParam().golden;
  const std::string file = field(golden, "template").as_string();
  const ChatTemplate chat_template = ChatTemplate::parse(read_file(kTemplates + file), file);
  expect_matches(chat_template, golden);
}

INSTANTIATE_TEST_SUITE_P(Goldens, RealTemplates, testing::ValuesIn(golden_cases()),
                         [](const testing::TestParamInfo<GoldenCase>& info) { return info.param.name; });

// A built-in template renders like its family's real template wherever that one
// renders at all (the built-ins may accept more, e.g. Gemma with a system message).
struct Family {
  std::string builtin;
  std::string golden_template;
  bool needs_system_first = false;  // chatml matches Qwen2 only where Qwen2 adds no default system message
};

std::ostream& operator<<(std::ostream& out, const Family& f) { return out << f.builtin; }

class BuiltinTemplates : public testing::TestWithParam<Family> {};

TEST_P(BuiltinTemplates, RenderLikeTheirFamily) {
  const Family& family = GetParam();
  const ChatTemplate chat_template = ChatTemplate::builtin(family.builtin);
  int compared = 0;
  for (const GoldenCase& c : golden_cases()) {
    if (field(c.golden, "template").as_string() != family.golden_template || !field(c.golden, "output").is_string())
      continue;
    const jinja::Array& messages = messages_of(c.golden).as_array();
    if (family.needs_system_first && (messages.empty() || field(messages[0], "role").as_string() != "system")) continue;
    SCOPED_TRACE(c.name);
    expect_matches(chat_template, c.golden);
    ++compared;
  }
  EXPECT_GE(compared, 5) << "too few goldens of " << family.golden_template;
}

INSTANTIATE_TEST_SUITE_P(Families, BuiltinTemplates,
                         testing::Values(Family{"chatml", "qwen2.jinja", true}, Family{"smollm2", "smollm2.jinja"},
                                         Family{"llama2", "llama2.jinja"}, Family{"llama3", "llama3.jinja"},
                                         Family{"mistral", "mistral.jinja"}, Family{"gemma", "gemma.jinja"},
                                         Family{"phi3", "phi3.jinja"}, Family{"zephyr", "zephyr.jinja"}),
                         [](const testing::TestParamInfo<Family>& info) { return info.param.builtin; });

// What `ringserve template` does, through the library: messages as JSON text,
// the model's template chosen by select_chat_template, rendered exactly.
TEST_F(SharedTemplates, CommandPathRendersJsonMessagesWithTheModelTemplate) {
  for (const GoldenCase& c : golden_cases()) {
    if (field(c.golden, "template").as_string() != "llama3.2.jinja" ||
        field(c.golden, "conversation").as_string() != "tools")
      continue;
    const ChatTemplate chat_template = select_chat_template("", read_file(kTemplates + "llama3.2.jinja"));
    const jinja::Value messages = messages_from_json(jinja::to_json(messages_of(c.golden)), chat_template);
    EXPECT_EQ(chat_template.render(messages, context_of(c.golden)), field(c.golden, "output").as_string());
    return;
  }
  FAIL() << "no llama3.2 golden with tools";
}

// The tool round trip as an OpenAI client sends it (arguments as JSON text), through messages_from_json: the
// templates that call tools render it as transformers renders the dicts vLLM gives them.
TEST_F(SharedTemplates, OpenAiToolCallsRenderLikeTransformers) {
  int compared = 0;
  for (const GoldenCase& c : golden_cases()) {
    const std::string file = field(c.golden, "template").as_string();
    const std::string conversation = field(c.golden, "conversation").as_string();
    if ((conversation != "tool_calls" && conversation != "two_tool_calls") ||
        (file != "qwen2.5.jinja" && file != "llama3.1.jinja" && file != "llama3.2.jinja" &&
         file != "mistral-v0.3.jinja")) {
      continue;
    }
    SCOPED_TRACE(c.name);
    const ChatTemplate chat_template = ChatTemplate::parse(read_file(kTemplates + file), file);
    expect_matches(chat_template, c.golden, messages_from_json(openai_json(messages_of(c.golden)), chat_template));
    ++compared;
  }
  EXPECT_EQ(compared, 8);
}

}  // namespace
}  // namespace rs::chat
