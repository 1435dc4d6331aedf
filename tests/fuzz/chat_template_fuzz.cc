// libFuzzer target: the Jinja chat template engine (core/template), on a template and data from the input, split at
// its first NUL byte: the template text, then JSON (a messages array, or any value; a string where it is no JSON).
// The template is parsed and rendered over the data as `messages`, with a budget that keeps a render within a
// second under ASan (the engine's default budget holds renders to about that without it). The data also goes
// through the chat layer as a request's messages: checked by messages_from_json and rendered with guard marks by
// a built-in template. Parse and render may only fail with TemplateError (the messages with MessageError); a
// crash (ASan + UBSan), a render past libFuzzer's -timeout or its memory limit fails.
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "core/template/builtin_templates.h"
#include "core/template/chat_template.h"
#include "core/template/error.h"
#include "core/template/guard_marks.h"
#include "core/template/json.h"
#include "core/template/template.h"

namespace {

using namespace rs;

constexpr jinja::limits::Budget kBudget{.steps = 10'000, .bytes = size_t(16) << 20};

void check(bool ok) {
  if (!ok) __builtin_trap();
}

jinja::Value data_of(std::string_view json) {
  try {
    return jinja::value_from_json(json);
  } catch (const std::invalid_argument&) {
    return jinja::Value(json);
  }
}

// Any template over the data, with what a chat template is given besides messages.
void render_template(std::string_view source, const jinja::Value& data) {
  const jinja::Template parsed(source, "fuzz.jinja");
  jinja::Object variables;
  variables.set("messages", data);
  variables.set("tools", jinja::Value::none());
  variables.set("add_generation_prompt", true);
  variables.set("bos_token", "<s>");
  variables.set("eos_token", "</s>");
  variables.set("raise_exception",
                jinja::Value::function("raise_exception", [](const jinja::Args& args) -> jinja::Value {
                  throw jinja::RaisedError(args.positional.empty() ? "" : args.positional[0].str());
                }));
  parsed.render(variables, kBudget);
}

const std::vector<chat::ChatTemplate>& builtin_templates() {
  static const std::vector<chat::ChatTemplate> templates = [] {
    std::vector<chat::ChatTemplate> all;
    for (const std::string_view name : chat::builtin_template_names()) all.push_back(chat::ChatTemplate::builtin(name));
    return all;
  }();
  return templates;
}

// The data as a request's messages, as core/api's render_chat gives them to the model's template.
void render_request(std::string_view json, size_t pick) {
  const chat::ChatTemplate& chat_template = builtin_templates()[pick % builtin_templates().size()];
  const jinja::Value messages = chat::messages_from_json(json, chat_template);
  chat::ChatContext context;
  context.bos_token = "<s>";
  context.eos_token = "</s>";
  static constexpr std::string_view kSpecial[] = {"<s>", "</s>", "<|eot_id|>", "<|im_start|>", "[INST]"};
  static const chat::ForgeableTexts forgeable(kSpecial);
  const chat::GuardedText guarded = chat::take_guard_marks(chat_template.render_marked(messages, context, forgeable));
  for (size_t i = 0; i < guarded.guards.size(); ++i) {
    check(guarded.guards[i] <= guarded.text.size() && (i == 0 || guarded.guards[i - 1] <= guarded.guards[i]));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t split = input.find('\0');
  const std::string_view source = input.substr(0, split);
  const std::string_view json = split == std::string_view::npos ? "" : input.substr(split + 1);
  try {
    render_template(source, data_of(json));
  } catch (const jinja::TemplateError&) {
    // A template that does not parse, or fails to render this data.
  }
  try {
    render_request(json, size);
  } catch (const chat::MessageError&) {
  } catch (const jinja::TemplateError&) {
  }
  return 0;
}
