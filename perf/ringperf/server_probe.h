#pragma once
// What ringperf asks the server before a run: the model to name in requests
// (GET /v1/models) and how many tokens its tokenizer makes of ringperf's
// prompt text (POST /tokenize, vLLM's and ringserve's; other servers lack it).
#include <optional>
#include <string>

#include "perf/ringperf/server_url.h"

namespace rs::ringperf {

// The first model /v1/models lists. Throws std::runtime_error when the server
// cannot be reached; nullopt when it answers without a model list.
std::optional<std::string> discover_model(const ServerUrl& server, const std::string& api_key);

// Tokens per word of PromptText, from two /tokenize counts (200 and 1200
// words) whose difference cancels BOS and other fixed tokens. nullopt when
// the server has no /tokenize.
std::optional<double> measure_tokens_per_word(const ServerUrl& server, const std::string& model,
                                              const std::string& api_key);

}  // namespace rs::ringperf
