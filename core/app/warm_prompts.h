#pragma once
// The prompts file of `ringserve warm`: one JSON value per line, tokenized exactly as the API tokenizes a
// request's prompt, so that their KV blocks are the ones requests will look up.
#include <string>
#include <vector>

#include "core/api/serving_model.h"

namespace rs {

// Each non-blank line of `path` is a /v1/completions `prompt` (a string, token ids, or an array of them: each
// is a prompt) or a /v1/chat/completions body's fields ({"messages":[…]}, with `tools` or
// `add_generation_prompt` if wanted), rendered with `model`'s chat template. Returns every prompt's token ids,
// in file order. Throws std::runtime_error naming the file and line (and the request field at fault).
std::vector<std::vector<tokenizer::TokenId>> read_warm_prompts(const std::string& path,
                                                               const api::ServingModel& model);

}  // namespace rs
