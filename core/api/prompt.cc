#include "core/api/prompt.h"

#include <fmt/format.h>

#include "core/base/log.h"
#include "core/template/error.h"
#include "core/template/guard_marks.h"
#include "core/template/json.h"

namespace rs::api {
namespace {

std::string token_text(const tokenizer::Vocab& vocab, tokenizer::TokenId id) {
  return id >= 0 && size_t(id) < vocab.size() ? vocab.tokens[size_t(id)] : std::string();
}

void check_fits(size_t tokens, const ServingModel& model, std::string_view what) {
  if (tokens == 0) throw ApiError(400, fmt::format("the {} has no tokens", what), "prompt");
  if (tokens >= model.ctx_size) {
    throw ApiError(400,
                   fmt::format("This model's maximum context length is {} tokens. However, your {} resulted in {} "
                               "tokens, which leaves no room for the completion. Please reduce the length of the "
                               "{}.",
                               model.ctx_size, what, tokens, what),
                   what == "messages" ? "messages" : "prompt");
  }
}

// A render error as the client sees it: a template's own raise_exception() message is meant for users; any
// other error is the interpreter's, logged and not shown.
ApiError template_error(const chat::ChatTemplate& chat_template, const jinja::TemplateError& error) {
  if (error.raised_by_template()) {
    return ApiError(400, fmt::format("the chat template ({}) rejected the messages: {}", chat_template.name(),
                                     error.reason()),
                    "messages");
  }
  log::warn("the chat template ({}) failed on a request's messages: {}", chat_template.name(), error.what());
  return ApiError(400, fmt::format("the chat template ({}) cannot render these messages", chat_template.name()),
                  "messages");
}

// The template's special tokens parsed; none over a guarded byte, which is the client's.
std::vector<tokenizer::TokenId> tokenize_guarded(const tokenizer::Tokenizer& tokenizer,
                                                 const chat::GuardedText& prompt) {
  std::vector<tokenizer::TokenId> tokens = tokenizer.encode(prompt.text, false, true, prompt.guards);
  const tokenizer::Vocab& vocab = tokenizer.vocab();
  if (vocab.add_bos && vocab.bos >= 0 && (tokens.empty() || tokens.front() != vocab.bos)) {
    tokens.insert(tokens.begin(), vocab.bos);
  }
  return tokens;
}

}  // namespace

std::string render_chat(const ServingModel& model, std::string_view messages_json, std::string_view tools_json,
                        bool add_generation_prompt) {
  const tokenizer::Vocab& vocab = model.tokenizer->vocab();
  chat::ChatContext context;
  context.bos_token = token_text(vocab, vocab.bos);
  context.eos_token = token_text(vocab, vocab.eos);
  context.add_generation_prompt = add_generation_prompt;
  if (!tools_json.empty()) context.tools = jinja::value_from_json(tools_json);
  const chat::ForgeableTexts forgeable(model.tokenizer->parsed_special_texts());
  try {
    return model.chat_template.render_marked(chat::messages_from_json(messages_json, model.chat_template), context,
                                             forgeable);
  } catch (const chat::MessageError& e) {
    throw ApiError(400, e.what(), e.field());
  } catch (const jinja::TemplateError& e) {
    throw template_error(model.chat_template, e);
  }
}

std::vector<tokenizer::TokenId> tokenize_chat(const tokenizer::Tokenizer& tokenizer, std::string_view rendered) {
  return tokenize_guarded(tokenizer, chat::take_guard_marks(rendered));
}

std::vector<PreparedPrompt> prepare_prompts(const CompletionRequest& request, const ServingModel& model) {
  const tokenizer::Tokenizer& tokenizer = *model.tokenizer;
  std::vector<PreparedPrompt> prompts;
  if (request.endpoint == Endpoint::chat) {
    chat::GuardedText prompt = chat::take_guard_marks(
        render_chat(model, request.messages_json, request.tools_json, request.add_generation_prompt));
    PreparedPrompt p;
    p.tokens = tokenize_guarded(tokenizer, prompt);
    p.text = std::move(prompt.text);
    check_fits(p.tokens.size(), model, "messages");
    prompts.push_back(std::move(p));
    return prompts;
  }
  const size_t vocab_size = tokenizer.vocab().size();
  for (size_t i = 0; i < request.prompts.size(); ++i) {
    const Prompt& given = request.prompts[i];
    PreparedPrompt p;
    if (given.is_tokens) {
      for (const int32_t id : given.tokens) {
        if (id < 0 || size_t(id) >= vocab_size) {
          throw ApiError(400, fmt::format("token id {} is outside the vocabulary (0 to {})", id, vocab_size - 1),
                         request.prompts.size() > 1 ? fmt::format("prompt[{}]", i) : "prompt");
        }
      }
      p.tokens.assign(given.tokens.begin(), given.tokens.end());
    } else {
      // As vLLM (add_special_tokens) and llama.cpp's server: BOS as the model wants, special tokens parsed.
      p.tokens = tokenizer.encode(given.text, true, true);
      p.text = given.text;
    }
    check_fits(p.tokens.size(), model, "prompt");
    if (given.is_tokens) p.text = tokenizer.decode(p.tokens);  // after the check: a million ids are refused undecoded
    prompts.push_back(std::move(p));
  }
  return prompts;
}

}  // namespace rs::api
