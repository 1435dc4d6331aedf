#pragma once
// A request's prompts as token ids: chat messages rendered by the model's chat
// template, or /v1/completions prompts (text or ids), checked against the
// vocabulary and the context length.
#include <string>
#include <vector>

#include "core/api/openai_request.h"
#include "core/api/serving_model.h"

namespace rs::api {

struct PreparedPrompt {
  std::vector<tokenizer::TokenId> tokens;
  std::string text;  // completions: the prompt's text, for echo
};

// Throws ApiError: 400 for messages the template rejects, ids outside the
// vocabulary, a prompt that leaves no room to generate in the context (code
// as OpenAI's message: "This model's maximum context length is …").
std::vector<PreparedPrompt> prepare_prompts(const CompletionRequest& request, const ServingModel& model);

// The chat prompt's text: the template rendered over `messages_json`, checked by chat::messages_from_json.
// `tools_json` is valid JSON (the request parser's) or "". Where the client's strings spell one of the model's
// control tokens (a user's "<|eot_id|>"), the text carries guard marks for tokenize_chat (core/template/guard_marks.h;
// chat::take_guard_marks gives the plain text). Throws ApiError 400 naming the message field at fault
// (e.g. "messages[2].content"), or "messages" when the template fails; only a template's own raise_exception()
// message reaches the client, other render errors are logged.
std::string render_chat(const ServingModel& model, std::string_view messages_json, std::string_view tools_json,
                        bool add_generation_prompt);

// The ids of render_chat's text: the template's own special tokens parsed, the client's text as text, however it
// spells a special token; the BOS is added only when the model wants one and the template did not write it.
std::vector<tokenizer::TokenId> tokenize_chat(const tokenizer::Tokenizer& tokenizer, std::string_view rendered);

}  // namespace rs::api
