#pragma once
// POST /v1/embeddings: OpenAI's request (input as a string, strings, token ids
// or lists of ids; encoding_format float or base64; dimensions) parsed with
// simdjson, and its response body.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/api/openai_request.h"

namespace rs::api {

inline constexpr size_t kMaxEmbeddingInputs = 2048;  // OpenAI's limit per request

struct EmbeddingRequest {
  std::string model;           // as sent ("" when absent)
  std::vector<Prompt> inputs;  // text, or token ids used as given
  bool base64 = false;         // encoding_format "base64": little-endian float32s
  int64_t dimensions = 0;      // 0: not given
};

// Throws ApiError (400, naming the field: "input", "input[2]", "encoding_format", "dimensions") for a body
// that is not a JSON object, a missing input, an empty string or array, more than kMaxEmbeddingInputs inputs,
// a wrong type, or a token id out of range.
EmbeddingRequest parse_embedding_request(std::string_view body);

// {"object":"list","data":[{"object":"embedding","index":i,"embedding":[…] or "base64…"}],"model":…,
//  "usage":{"prompt_tokens":…,"total_tokens":…}}; `vectors` holds one row of `dims` per input.
void append_embedding_response(std::string& out, std::string_view model, std::span<const float> vectors,
                               uint32_t dims, bool base64, uint64_t prompt_tokens);

// RFC 4648 base64 of `bytes`, padded.
void append_base64(std::string& out, std::span<const std::byte> bytes);

}  // namespace rs::api
