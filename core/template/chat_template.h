#pragma once
// OpenAI chat messages to the prompt a model was trained on: the model's
// Hugging Face chat_template rendered as transformers' apply_chat_template
// renders it, or a built-in template.
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/template/guard_marks.h"
#include "core/template/template.h"
#include "core/template/value.h"

namespace rs::chat {

// What a template sees besides `messages`.
struct ChatContext {
  std::string bos_token;  // "" when the tokenizer has none: the variable is then undefined, as in transformers
  std::string eos_token;
  bool add_generation_prompt = true;
  jinja::Value tools = jinja::Value::none();  // the request's tools; transformers passes None without them
  jinja::Value documents = jinja::Value::none();
  // Extra template variables (transformers' **kwargs), e.g. date_string for Llama 3.1.
  std::vector<std::pair<std::string, jinja::Value>> variables;
  jinja::limits::Budget budget;  // what the render may spend
};

class ChatTemplate {
 public:
  // Throws jinja::TemplateError when the source is not valid or uses what the interpreter does not support.
  static ChatTemplate parse(std::string_view source, std::string name);
  // A built-in template; std::invalid_argument listing the names for an unknown one.
  static ChatTemplate builtin(std::string_view name);

  // Renders `messages` as given, as transformers' apply_chat_template does. Throws jinja::TemplateError for a
  // render error; raise_exception()'s errors are raised_by_template().
  std::string render(const jinja::Value& messages, const ChatContext& context) const;
  // render() for a prompt tokenized with special tokens parsed: where the client's strings (messages, tools,
  // documents) spell a forgeable text, the output carries guard marks (guard_marks.h) for take_guard_marks().
  // A render error's reason holds none.
  std::string render_marked(const jinja::Value& messages, const ChatContext& context,
                            const ForgeableTexts& forgeable) const;
  const std::string& name() const { return template_->name(); }
  // The template's text, where a server looks for what the model was trained to write (its tool call format).
  const std::string& source() const { return *source_; }
  // Whether the template reads content-part arrays itself (as newer Hugging Face templates do), found once when
  // it is made: a message whose content is one text part renders as the same message with that text does.
  bool reads_content_parts() const { return reads_content_parts_; }

 private:
  ChatTemplate(std::shared_ptr<const jinja::Template> t, std::shared_ptr<const std::string> source)
      : template_(std::move(t)), source_(std::move(source)) {}
  std::shared_ptr<const jinja::Template> template_;  // shared: copies are cheap and render concurrently
  std::shared_ptr<const std::string> source_;
  bool reads_content_parts_ = false;
};

// A message the template cannot be given; field() is the path at fault, e.g. "messages[2].content".
class MessageError : public std::invalid_argument {
 public:
  MessageError(std::string field, const std::string& message)
      : std::invalid_argument(message), field_(std::move(field)) {}
  const std::string& field() const { return field_; }

 private:
  std::string field_;
};

// An OpenAI `messages` array, checked and made ready for `chat_template`: every role is system, developer
// (given as "system"), user, assistant or tool; content is a string or an array of text parts, or null/absent
// (given as "") on an assistant turn with tool_calls or function_call; text parts are joined with "\n" unless
// the template reads content parts itself. As vLLM gives them to templates: a tool call's function.arguments,
// which OpenAI sends as JSON text, is the object that text holds (templates write it with tojson or iterate
// it); "tool_calls": null is left out. Throws MessageError naming the field.
jinja::Value messages_from_json(std::string_view json, const ChatTemplate& chat_template);

// The template to render with. `override_name_or_file` ("" for none) is a
// built-in name or a .jinja file, and an error when it is neither or does not
// parse. Otherwise the model's own template; when the model has none, or it
// does not parse, the built-in ChatML with one warning saying why and what to do.
ChatTemplate select_chat_template(std::string_view override_name_or_file, std::string_view model_template);

}  // namespace rs::chat
