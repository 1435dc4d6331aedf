#include "core/template/chat_template.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "core/log.h"
#include "core/template/builtin_templates.h"
#include "core/template/error.h"
#include "core/template/json.h"

namespace rs::chat {
namespace {

using jinja::Value;

Value raise_exception(const jinja::Args& args) {
  if (args.positional.size() != 1 || !args.keyword.empty())
    throw jinja::EvalError("raise_exception() takes one message");
  throw jinja::EvalError(args.positional[0].str());
}

// transformers' strftime_now: the local time now, formatted by strftime.
Value strftime_now(const jinja::Args& args) {
  if (args.positional.size() != 1 || !args.keyword.empty() || !args.positional[0].is_string()) {
    throw jinja::EvalError("strftime_now() takes one format string");
  }
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  std::string out(64, '\0');
  while (true) {
    const size_t size = std::strftime(out.data(), out.size(), args.positional[0].as_string().c_str(), &local);
    if (size > 0 || out.size() > 4096) return Value(out.substr(0, size));
    out.resize(out.size() * 2);
  }
}

std::string builtin_names() { return fmt::format("{}", fmt::join(builtin_template_names(), ", ")); }

std::string read_file(const std::filesystem::path& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) throw std::invalid_argument(fmt::format("cannot read chat template file {}", path.string()));
  std::ostringstream contents;
  contents << file.rdbuf();
  return contents.str();
}

}  // namespace

ChatTemplate ChatTemplate::parse(std::string_view source, std::string name) {
  return ChatTemplate(std::make_shared<const jinja::Template>(source, std::move(name)));
}

ChatTemplate ChatTemplate::builtin(std::string_view name) {
  const std::optional<std::string_view> source = builtin_template_source(name);
  if (!source)
    throw std::invalid_argument(fmt::format("unknown chat template '{}' (built-in: {})", name, builtin_names()));
  return parse(*source, std::string(name));
}

std::string ChatTemplate::render(const Value& messages, const ChatContext& context) const {
  jinja::Object variables;
  variables.set("messages", messages);
  variables.set("tools", context.tools);
  variables.set("documents", context.documents);
  variables.set("add_generation_prompt", context.add_generation_prompt);
  if (!context.bos_token.empty()) variables.set("bos_token", context.bos_token);
  if (!context.eos_token.empty()) variables.set("eos_token", context.eos_token);
  variables.set("raise_exception", Value::function("raise_exception", raise_exception));
  variables.set("strftime_now", Value::function("strftime_now", strftime_now));
  for (const auto& [name, value] : context.variables) variables.set(name, value);
  return template_->render(variables);
}

Value messages_from_json(std::string_view json) {
  const Value messages = jinja::value_from_json(json);
  if (!messages.is_array()) throw std::invalid_argument("messages must be a JSON array");
  const jinja::Array& items = messages.as_array();
  for (size_t i = 0; i < items.size(); ++i) {
    if (!items[i].is_object()) throw std::invalid_argument(fmt::format("messages[{}] is not an object", i));
    const jinja::Object& message = items[i].as_object();
    const Value* role = message.find("role");
    if (role == nullptr) throw std::invalid_argument(fmt::format("messages[{}].role is missing", i));
    if (!role->is_string()) throw std::invalid_argument(fmt::format("messages[{}].role is not a string", i));
    const Value* content = message.find("content");
    if (content != nullptr && !content->is_string() && !content->is_array() && !content->is_none()) {
      throw std::invalid_argument(
          fmt::format("messages[{}].content must be a string, an array of content parts or null", i));
    }
  }
  return messages;
}

ChatTemplate select_chat_template(std::string_view override_name_or_file, std::string_view model_template) {
  if (!override_name_or_file.empty()) {
    if (builtin_template_source(override_name_or_file)) return ChatTemplate::builtin(override_name_or_file);
    const std::filesystem::path path(override_name_or_file);
    std::error_code error;
    if (std::filesystem::is_regular_file(path, error)) return ChatTemplate::parse(read_file(path), path.string());
    throw std::invalid_argument(fmt::format("--chat-template '{}' is neither a built-in template ({}) nor a file",
                                            override_name_or_file, builtin_names()));
  }
  std::string reason = "the model has no chat template";
  if (!model_template.empty()) {
    try {
      return ChatTemplate::parse(model_template, "chat_template");
    } catch (const jinja::TemplateError& e) {
      reason = fmt::format("the model's chat template cannot be used: {}", e.what());
    }
  }
  log::warn(
      "{}; using the built-in 'chatml' template, which may not be the format the model was trained on. "
      "Choose one with --chat-template NAME or FILE (built-in: {})",
      reason, builtin_names());
  return ChatTemplate::builtin("chatml");
}

}  // namespace rs::chat
