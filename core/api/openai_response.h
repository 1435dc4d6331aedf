#pragma once
// OpenAI's response bodies, byte for byte in field order and shape: the
// final objects of /v1/chat/completions ("chat.completion") and
// /v1/completions ("text_completion"), their streamed chunks
// ("chat.completion.chunk"; completions stream "text_completion" objects),
// the usage-only last chunk, and /v1/models. Writers append to a string and
// allocate nothing else; the hot path is one chunk per generated token.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/api/tool_calls.h"

namespace rs::api {

// What every object of one response shares.
struct ResponseMeta {
  std::string id;       // "chatcmpl-…" or "cmpl-…"
  int64_t created = 0;  // Unix seconds
  std::string model;
  std::string system_fingerprint;
};

struct Usage {
  uint32_t prompt_tokens = 0;
  uint32_t completion_tokens = 0;
  uint32_t cached_tokens = 0;  // prompt tokens the prefix cache gave (prompt_tokens_details)
};

// One generated token's logprob and its alternatives, most likely first.
struct TokenLogprob {
  std::string token;  // the token's text (its bytes; may be part of a character)
  float logprob = 0;
  bool null = false;  // an echoed prompt's first token: nothing predicted it (null logprob, null alternatives)
  struct Alternative {
    std::string token;
    float logprob = 0;
  };
  std::vector<Alternative> top;
};

// "stop", "length", "tool_calls", or "" (null: not finished, in chunks).
struct ChoiceResult {
  uint32_t index = 0;
  std::string text;  // chat: the message's content, null when empty and there are tool calls
  std::string finish_reason;
  bool logprobs = false;               // the request asked: the field is an object, else null
  std::vector<TokenLogprob> tokens;    // with logprobs
  std::vector<uint32_t> text_offsets;  // completions' logprobs.text_offset, one per token
  std::vector<ToolCall> tool_calls;    // chat: message.tool_calls, left out when empty
};

// Whole responses (stream: false).
void append_chat_completion(std::string& out, const ResponseMeta& meta, std::span<const ChoiceResult> choices,
                            const Usage& usage);
void append_completion(std::string& out, const ResponseMeta& meta, std::span<const ChoiceResult> choices,
                       const Usage& usage);

// One streamed chunk for one choice. Chat: the first chunk of a choice carries
// `role` ("assistant"), later ones only content, or a piece of a tool call
// (delta.tool_calls, as OpenAI streams them: the first piece of a call with its
// id, type and name); a chunk with finish_reason has an empty delta ({})
// unless text or a tool call is given. `usage_null`: the request set
// stream_options.include_usage, so every chunk carries "usage":null.
struct ChunkPiece {
  uint32_t index = 0;
  bool first = false;               // chat: delta starts with "role":"assistant"
  std::string_view text;            // delta content / text; may be empty
  std::string_view finish_reason;   // "" → null
  bool logprobs = false;            // the request asked for logprobs
  std::span<const TokenLogprob> tokens;  // the tokens this piece's text came from
  std::span<const uint32_t> text_offsets;  // completions only
  const ToolCallFragment* tool_call = nullptr;  // chat
};
void append_chat_chunk(std::string& out, const ResponseMeta& meta, const ChunkPiece& piece, bool usage_null);
void append_completion_chunk(std::string& out, const ResponseMeta& meta, const ChunkPiece& piece, bool usage_null);
// The last chunk with stream_options.include_usage: "choices":[] and usage.
void append_usage_chunk(std::string& out, const ResponseMeta& meta, bool chat, const Usage& usage);

// GET /v1/models/{id}: {"id":…,"object":"model","created":…,"owned_by":"ringserve","max_model_len":…}
void append_model(std::string& out, std::string_view model_id, int64_t created, uint32_t max_model_len);
// GET /v1/models: {"object":"list","data":[model]}
void append_model_list(std::string& out, std::string_view model_id, int64_t created, uint32_t max_model_len);

}  // namespace rs::api
