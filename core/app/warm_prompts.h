#pragma once
// The prompts files of `ringserve warm`: one JSON value per line. For the prefix cache, prompts tokenized
// exactly as the API tokenizes a request's prompt, so that their KV blocks are the ones requests will look up;
// for the semantic cache, requests parsed exactly as the API parses them, so that their keys are the ones
// requests will look up.
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "core/api/openai_request.h"
#include "core/api/semantic_request.h"
#include "core/api/serving_model.h"

namespace rs {

// Each non-blank line of `path` is a /v1/completions `prompt` (a string, token ids, or an array of them: each
// is a prompt) or a /v1/chat/completions body's fields ({"messages":[…]}, with `tools` or
// `add_generation_prompt` if wanted), rendered with `model`'s chat template. Returns every prompt's token ids,
// in file order. Throws std::runtime_error naming the file and line (and the request field at fault).
std::vector<std::vector<tokenizer::TokenId>> read_warm_prompts(const std::string& path,
                                                               const api::ServingModel& model);

// A line of `warm --semantic`'s file, as the server would take the chat completion request it stands for.
struct WarmQuestion {
  size_t line = 0;  // 1-based, in the file
  api::CompletionRequest request;
  std::vector<tokenizer::TokenId> prompt;  // as the API tokenizes it
  api::SemanticQuery query;                // as the API keys it
  std::optional<std::string> answer;       // the line's "answer"; without one, the model answers
};

// Each non-blank line of `path` is a /v1/chat/completions body as a client sends it ({"messages":[…],
// "temperature":0,…}), optionally with an "answer" string beside its fields, or the shorthand
// {"question":"…","answer":"…"} (the body {"messages":[{"role":"user","content":question}],"temperature":0},
// "answer" optional here too). Each is checked as `model`'s server would check it, and must be one its semantic
// cache keeps (semantic_query), and not the same key as an earlier line. Throws std::runtime_error naming the
// file and line (and the field at fault).
std::vector<WarmQuestion> read_warm_questions(const std::string& path, const api::ServingModel& model);

}  // namespace rs
