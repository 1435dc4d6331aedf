#pragma once
// What the semantic cache knows of a request: whether it may be cached at all
// (deterministic, one choice, no logprobs, no opt-out), the hash of everything
// but its last user message, that message, and the guard against the false
// hits semantic caches are known for (negations, different numbers, swapped
// names). The cache store itself is cache/semantic_store.h.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/api/openai_request.h"

namespace rs::api {

struct SemanticQuery {
  uint64_t context = 0;  // XXH3 of the canonical form of everything but the last user message
  uint64_t exact = 0;    // XXH3 of the message, whitespace-normalised
  uint64_t guard = 0;    // semantic_guard(message)
  std::string message;   // the last user message's text (a completion's prompt), as sent
};

// nullopt when the request must pass the cache by: not deterministic (temperature above 0 and no seed), more
// than one choice or prompt, logprobs, echo, a prompt of token ids, a chat whose last message is not the
// user's, tools the model may call (tool_choice other than "none"), or the request's own opt-out
// (`cache: false`, or `no_cache_header`: Cache-Control: no-cache).
std::optional<SemanticQuery> semantic_query(const CompletionRequest& request, std::string_view model_id,
                                            bool no_cache_header);

// Runs of whitespace become one space; none at either end.
std::string normalize_whitespace(std::string_view text);

// XXH3 of what two messages must share for one's answer to serve the other, however similar their embeddings:
// the multiset of their numbers ("1,000" and "1000" alike; number words too), of their negations ("not",
// "never", "isn't"… as one), and the sequence of their capitalised names in order ("Paris … London" is not
// "London … Paris").
uint64_t semantic_guard(std::string_view message);

}  // namespace rs::api
