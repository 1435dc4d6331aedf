#include "core/template/chat_template.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <array>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>

#include "core/base/log.h"
#include "core/template/builtin_templates.h"
#include "core/template/error.h"
#include "core/template/json.h"

namespace rs::chat {
namespace {

using jinja::Value;

Value raise_exception(const jinja::Args& args) {
  if (args.positional.size() != 1 || !args.keyword.empty())
    throw jinja::EvalError("raise_exception() takes one message");
  throw jinja::RaisedError(args.positional[0].str());
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

// The render of one user message with `content`; none when the template rejects it.
std::optional<std::string> render_user_message(const ChatTemplate& chat_template, Value content) {
  jinja::Object message;
  message.set("role", "user");
  message.set("content", std::move(content));
  ChatContext context;
  context.bos_token = "<s>";  // some templates add these without checking that they are defined
  context.eos_token = "</s>";
  try {
    return chat_template.render(Value(jinja::Array{Value(std::move(message))}), context);
  } catch (const jinja::TemplateError&) {
    return std::nullopt;
  }
}

Value text_part(std::string_view text) {
  jinja::Object part;
  part.set("type", "text");
  part.set("text", text);
  return Value(std::move(part));
}

bool probe_reads_content_parts(const ChatTemplate& chat_template) {
  static constexpr std::string_view kProbe = "Hello, template.";
  const std::optional<std::string> as_string = render_user_message(chat_template, Value(kProbe));
  return as_string && as_string == render_user_message(chat_template, Value(jinja::Array{text_part(kProbe)}));
}

// OpenAI's roles; "function" is its deprecated form of "tool".
constexpr std::array<std::string_view, 6> kRoles = {"system", "developer", "user", "assistant", "tool", "function"};
constexpr size_t kMaxQuotedBytes = 40;  // of a client's string in an error message

// A client's string as an error message shows it: quoted, cut short at a whole character.
std::string quoted_short(std::string_view text) {
  if (text.size() <= kMaxQuotedBytes) return fmt::format("\"{}\"", text);
  size_t cut = kMaxQuotedBytes;
  while (cut > 0 && (static_cast<uint8_t>(text[cut]) & 0xC0) == 0x80) --cut;
  return fmt::format("\"{}\xE2\x80\xA6\"", text.substr(0, cut));  // …
}

std::string checked_role(const jinja::Object& message, const std::string& field) {
  const Value* role = message.find("role");
  if (role == nullptr) throw MessageError(field, fmt::format("{} is missing", field));
  if (!role->is_string()) throw MessageError(field, fmt::format("{} is not a string", field));
  const std::string& name = role->as_string();
  if (std::find(kRoles.begin(), kRoles.end(), name) == kRoles.end()) {
    throw MessageError(field, fmt::format(R"({} must be "system", "developer", "user", "assistant", "tool" or )"
                                          R"("function", got {})", field, quoted_short(name)));
  }
  return name == "developer" ? "system" : name;  // OpenAI's newer clients send "developer"; templates know "system"
}

// An assistant turn that calls tools may leave its content out (the OpenAI tool round trip).
bool calls_tools(const jinja::Object& message) {
  for (const std::string_view key : {"tool_calls", "function_call"}) {
    const Value* value = message.find(key);
    if (value != nullptr && !value->is_none()) return true;
  }
  return false;
}

void check_text_part(const Value& part, const std::string& field) {
  const Value* type = part.is_object() ? part.as_object().find("type") : nullptr;
  if (type == nullptr || !type->is_string()) {
    throw MessageError(field, fmt::format(R"({} must be a content part such as {{"type": "text", "text": "Hi"}})",
                                          field));
  }
  if (type->as_string() != "text") {
    throw MessageError(field, fmt::format("content parts of type {} are not supported: this model reads text only",
                                          quoted_short(type->as_string())));
  }
  const Value* text = part.as_object().find("text");
  if (text == nullptr || !text->is_string()) {
    throw MessageError(field, fmt::format(R"({} is a "text" part without a string "text")", field));
  }
}

// Checked text parts as one string, a line each, as vLLM joins them.
std::string joined_text(const jinja::Array& parts) {
  std::string text;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) text += '\n';
    text += parts[i].as_object().find("text")->as_string();
  }
  return text;
}

Value checked_content(const jinja::Object& message, const std::string& role, const std::string& field,
                      bool join_parts) {
  const Value* content = message.find("content");
  if (content == nullptr || content->is_none()) {
    if (role == "assistant" && calls_tools(message)) return Value("");
    throw MessageError(field, fmt::format("{} is required: a string or an array of content parts", field));
  }
  if (content->is_string()) return *content;
  if (!content->is_array()) {
    throw MessageError(field, fmt::format("{} must be a string or an array of content parts", field));
  }
  const jinja::Array& parts = content->as_array();
  for (size_t i = 0; i < parts.size(); ++i) check_text_part(parts[i], fmt::format("{}[{}]", field, i));
  return join_parts ? Value(joined_text(parts)) : *content;
}

// `object` with `key`'s value replaced (in its place), or the key left out when `replacement` is undefined.
jinja::Object with_key(const jinja::Object& object, std::string_view key, const Value& replacement) {
  jinja::Object out;
  for (const auto& [name, item] : object) {
    if (name != key) out.set(name, item);
    else if (!replacement.is_undefined()) out.set(name, replacement);
  }
  return out;
}

// A tool call whose function.arguments is JSON text of an object, with that object instead; otherwise as it is.
Value with_parsed_arguments(const Value& call) {
  const Value* function = call.is_object() ? call.as_object().find("function") : nullptr;
  const Value* arguments = function != nullptr && function->is_object() ? function->as_object().find("arguments")
                                                                        : nullptr;
  if (arguments == nullptr || !arguments->is_string()) return call;
  Value parsed;
  try {
    parsed = jinja::value_from_json(arguments->as_string());
  } catch (const std::invalid_argument&) {
    return call;  // not JSON: the template gets the text
  }
  if (!parsed.is_object()) return call;
  return Value(with_key(call.as_object(), "function", Value(with_key(function->as_object(), "arguments", parsed))));
}

// The message's tool_calls as templates expect them: arguments parsed, and no key at all for null (Llama 3.1's
// template tests `'tool_calls' in message`).
void prepare_tool_calls(jinja::Object& message) {
  const Value* calls = message.find("tool_calls");
  if (calls == nullptr || !(calls->is_none() || calls->is_array())) return;
  if (calls->is_none()) {
    message = with_key(message, "tool_calls", Value());
    return;
  }
  jinja::Array parsed;
  for (const Value& call : calls->as_array()) parsed.push_back(with_parsed_arguments(call));
  message.set("tool_calls", Value(std::move(parsed)));
}

Value checked_message(const Value& item, size_t index, bool join_parts) {
  const std::string field = fmt::format("messages[{}]", index);
  if (!item.is_object()) throw MessageError(field, fmt::format("{} is not an object", field));
  jinja::Object message = item.as_object();
  const std::string role = checked_role(message, field + ".role");
  message.set("role", role);
  message.set("content", checked_content(message, role, field + ".content", join_parts));
  if (role == "assistant") prepare_tool_calls(message);
  return Value(std::move(message));
}

}  // namespace

ChatTemplate ChatTemplate::parse(std::string_view source, std::string name) {
  ChatTemplate chat_template(std::make_shared<const jinja::Template>(source, std::move(name)),
                             std::make_shared<const std::string>(source));
  chat_template.reads_content_parts_ = probe_reads_content_parts(chat_template);
  return chat_template;
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
  return template_->render(variables, context.budget);
}

std::string ChatTemplate::render_marked(const Value& messages, const ChatContext& context,
                                        const ForgeableTexts& forgeable) const {
  ChatContext marked = context;
  marked.tools = forgeable.marked(context.tools);
  marked.documents = forgeable.marked(context.documents);
  try {
    return render(forgeable.marked(messages), marked);
  } catch (const jinja::TemplateError& e) {
    // A raise_exception() message may quote the client's text, marks and all; it goes back to the client.
    throw jinja::TemplateError(e.template_name(), e.line(), take_guard_marks(e.reason()).text,
                               e.raised_by_template());
  }
}

Value messages_from_json(std::string_view json, const ChatTemplate& chat_template) {
  Value messages;
  try {
    messages = jinja::value_from_json(json);
  } catch (const std::invalid_argument& e) {
    throw MessageError("messages", e.what());
  }
  if (!messages.is_array()) throw MessageError("messages", "messages must be a JSON array");
  jinja::Array checked;
  for (const Value& item : messages.as_array()) {
    checked.push_back(checked_message(item, checked.size(), !chat_template.reads_content_parts()));
  }
  return Value(std::move(checked));
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
