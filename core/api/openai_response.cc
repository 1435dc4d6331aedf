#include "core/api/openai_response.h"

#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <iterator>

#include "core/base/json_write.h"
#include "core/tokenizer/utf8.h"

namespace rs::api {
namespace {

void append_integer(std::string& out, std::integral auto value) {
  char buffer[24];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
  out.append(buffer, result.ptr);
}

// Shortest text that reads back as the same float. JSON has no infinity or
// NaN: like vLLM, an impossible token's -inf logprob is sent as -9999.0.
void append_logprob(std::string& out, float logprob) {
  if (!std::isfinite(logprob)) {
    out.append("-9999.0");
    return;
  }
  fmt::format_to(std::back_inserter(out), "{}", logprob);
}

void append_string_or_null(std::string& out, std::string_view text) {
  if (text.empty()) {
    out.append("null");
  } else {
    json::append_string(out, text);
  }
}

// `"id":…,"object":…,"created":…,"model":…` (without braces).
void append_head(std::string& out, const ResponseMeta& meta, std::string_view object) {
  out.append("\"id\":");
  json::append_string(out, meta.id);
  out.append(",\"object\":\"");
  out.append(object);
  out.append("\",\"created\":");
  append_integer(out, meta.created);
  out.append(",\"model\":");
  json::append_string(out, meta.model);
}

void append_fingerprint(std::string& out, const ResponseMeta& meta) {
  out.append("\"system_fingerprint\":");
  append_string_or_null(out, meta.system_fingerprint);
}

void append_usage(std::string& out, const Usage& usage) {
  out.append("\"usage\":{\"prompt_tokens\":");
  append_integer(out, usage.prompt_tokens);
  out.append(",\"completion_tokens\":");
  append_integer(out, usage.completion_tokens);
  out.append(",\"total_tokens\":");
  append_integer(out, uint64_t{usage.prompt_tokens} + usage.completion_tokens);
  out.append(",\"prompt_tokens_details\":{\"cached_tokens\":");
  append_integer(out, usage.cached_tokens);
  out.append("}}");
}

// A token's text as OpenAI shows it: the text, or for a token that is not
// valid UTF-8 on its own (a byte of a longer character) "bytes:\xe6\x97", so
// that distinct byte tokens stay distinct and no text is replaced.
void append_token(std::string& out, std::string_view token) {
  if (tokenizer::is_valid_utf8(token)) {
    json::append_string(out, token);
    return;
  }
  std::string shown = "bytes:";
  for (const char c : token) fmt::format_to(std::back_inserter(shown), "\\x{:02x}", static_cast<uint8_t>(c));
  json::append_string(out, shown);
}

// Chat: the UTF-8 bytes of a token, even when they are part of a character.
void append_bytes(std::string& out, std::string_view token) {
  out.append(",\"bytes\":[");
  for (size_t i = 0; i < token.size(); ++i) {
    if (i > 0) out.push_back(',');
    append_integer(out, static_cast<unsigned>(static_cast<uint8_t>(token[i])));
  }
  out.push_back(']');
}

void append_chat_token(std::string& out, std::string_view token, float logprob) {
  out.append("{\"token\":");
  append_token(out, token);
  out.append(",\"logprob\":");
  append_logprob(out, logprob);
  append_bytes(out, token);
}

// "logprobs":{"content":[…]}, or null.
void append_chat_logprobs(std::string& out, bool requested, std::span<const TokenLogprob> tokens) {
  out.append("\"logprobs\":");
  if (!requested) {
    out.append("null");
    return;
  }
  out.append("{\"content\":[");
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (i > 0) out.push_back(',');
    append_chat_token(out, tokens[i].token, tokens[i].logprob);
    out.append(",\"top_logprobs\":[");
    for (size_t k = 0; k < tokens[i].top.size(); ++k) {
      if (k > 0) out.push_back(',');
      append_chat_token(out, tokens[i].top[k].token, tokens[i].top[k].logprob);
      out.push_back('}');
    }
    out.append("]}");
  }
  out.append("]}");
}

// Legacy completions: {"text_offset":[…],"token_logprobs":[…],"tokens":[…],"top_logprobs":[{tok:lp,…},…]}, or null.
void append_completion_logprobs(std::string& out, bool requested, std::span<const TokenLogprob> tokens,
                                std::span<const uint32_t> text_offsets) {
  out.append("\"logprobs\":");
  if (!requested) {
    out.append("null");
    return;
  }
  out.append("{\"text_offset\":[");
  for (size_t i = 0; i < text_offsets.size(); ++i) {
    if (i > 0) out.push_back(',');
    append_integer(out, text_offsets[i]);
  }
  out.append("],\"token_logprobs\":[");
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (i > 0) out.push_back(',');
    if (tokens[i].null) out.append("null");
    else append_logprob(out, tokens[i].logprob);
  }
  out.append("],\"tokens\":[");
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (i > 0) out.push_back(',');
    append_token(out, tokens[i].token);
  }
  out.append("],\"top_logprobs\":[");
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (i > 0) out.push_back(',');
    if (tokens[i].null) {
      out.append("null");
      continue;
    }
    out.push_back('{');
    const auto& top = tokens[i].top;
    bool any = false;
    for (size_t k = 0; k < top.size(); ++k) {
      // An object's keys are unique: keep the likelier of two alternatives with the same text.
      bool seen = false;
      for (size_t j = 0; j < k && !seen; ++j) seen = top[j].token == top[k].token;
      if (seen) continue;
      if (any) out.push_back(',');
      any = true;
      append_token(out, top[k].token);
      out.push_back(':');
      append_logprob(out, top[k].logprob);
    }
    out.push_back('}');
  }
  out.append("]}");
}

// {"id":…,"type":"function","function":{"name":…,"arguments":…}}
void append_tool_call(std::string& out, const ToolCall& call) {
  out.append("{\"id\":");
  json::append_string(out, call.id);
  out.append(",\"type\":\"function\",\"function\":{\"name\":");
  json::append_string(out, call.name);
  out.append(",\"arguments\":");
  json::append_string(out, call.arguments);
  out.append("}}");
}

// "tool_calls":[one piece]: a call's first piece has its id, type and name, the others only arguments.
void append_tool_call_fragment(std::string& out, const ToolCallFragment& fragment) {
  out.append("\"tool_calls\":[{\"index\":");
  append_integer(out, fragment.index);
  if (!fragment.id.empty()) {
    out.append(",\"id\":");
    json::append_string(out, fragment.id);
    out.append(",\"type\":\"function\",\"function\":{\"name\":");
    json::append_string(out, fragment.name);
    out.push_back(',');
  } else {
    out.append(",\"function\":{");
  }
  out.append("\"arguments\":");
  json::append_string(out, fragment.arguments);
  out.append("}}]");
}

void append_finish_reason(std::string& out, std::string_view finish_reason) {
  out.append("\"finish_reason\":");
  append_string_or_null(out, finish_reason);
}

// A whole response: head, each choice as `append_choice` writes it, usage, fingerprint.
template <class AppendChoice>
void append_response(std::string& out, const ResponseMeta& meta, std::string_view object,
                     std::span<const ChoiceResult> choices, const Usage& usage, AppendChoice append_choice) {
  out.push_back('{');
  append_head(out, meta, object);
  out.append(",\"choices\":[");
  for (size_t i = 0; i < choices.size(); ++i) {
    if (i > 0) out.push_back(',');
    append_choice(choices[i]);
    out.push_back(',');
    append_finish_reason(out, choices[i].finish_reason);
    out.push_back('}');
  }
  out.append("],");
  append_usage(out, usage);
  out.push_back(',');
  append_fingerprint(out, meta);
  out.push_back('}');
}

}  // namespace

void append_chat_completion(std::string& out, const ResponseMeta& meta, std::span<const ChoiceResult> choices,
                            const Usage& usage) {
  append_response(out, meta, "chat.completion", choices, usage, [&out](const ChoiceResult& choice) {
    out.append("{\"index\":");
    append_integer(out, choice.index);
    out.append(",\"message\":{\"role\":\"assistant\",\"content\":");
    // As OpenAI: a message that only calls tools has null content.
    if (choice.text.empty() && !choice.tool_calls.empty()) out.append("null");
    else json::append_string(out, choice.text);
    if (!choice.tool_calls.empty()) {
      out.append(",\"tool_calls\":[");
      for (size_t i = 0; i < choice.tool_calls.size(); ++i) {
        if (i > 0) out.push_back(',');
        append_tool_call(out, choice.tool_calls[i]);
      }
      out.push_back(']');
    }
    out.append("},");
    append_chat_logprobs(out, choice.logprobs, choice.tokens);
  });
}

void append_completion(std::string& out, const ResponseMeta& meta, std::span<const ChoiceResult> choices,
                       const Usage& usage) {
  append_response(out, meta, "text_completion", choices, usage, [&out](const ChoiceResult& choice) {
    out.append("{\"text\":");
    json::append_string(out, choice.text);
    out.append(",\"index\":");
    append_integer(out, choice.index);
    out.push_back(',');
    append_completion_logprobs(out, choice.logprobs, choice.tokens, choice.text_offsets);
  });
}

void append_chat_chunk(std::string& out, const ResponseMeta& meta, const ChunkPiece& piece, bool usage_null) {
  out.push_back('{');
  append_head(out, meta, "chat.completion.chunk");
  out.push_back(',');
  append_fingerprint(out, meta);
  out.append(",\"choices\":[{\"index\":");
  append_integer(out, piece.index);
  out.append(",\"delta\":{");
  if (piece.first) {
    out.append("\"role\":\"assistant\",\"content\":");
    json::append_string(out, piece.text);
  } else if (!piece.text.empty() || (piece.finish_reason.empty() && piece.tool_call == nullptr)) {
    out.append("\"content\":");
    json::append_string(out, piece.text);
  }
  if (piece.tool_call != nullptr) {
    if (out.back() != '{') out.push_back(',');
    append_tool_call_fragment(out, *piece.tool_call);
  }
  out.append("},");
  // A piece without tokens (the role-only first chunk, an empty finishing one) has null, as OpenAI sends.
  append_chat_logprobs(out, piece.logprobs && !piece.tokens.empty(), piece.tokens);
  out.push_back(',');
  append_finish_reason(out, piece.finish_reason);
  out.append("}]");
  if (usage_null) out.append(",\"usage\":null");
  out.push_back('}');
}

void append_completion_chunk(std::string& out, const ResponseMeta& meta, const ChunkPiece& piece, bool usage_null) {
  out.push_back('{');
  append_head(out, meta, "text_completion");
  out.append(",\"choices\":[{\"text\":");
  json::append_string(out, piece.text);
  out.append(",\"index\":");
  append_integer(out, piece.index);
  out.push_back(',');
  append_completion_logprobs(out, piece.logprobs && !piece.tokens.empty(), piece.tokens, piece.text_offsets);
  out.push_back(',');
  append_finish_reason(out, piece.finish_reason);
  out.append("}],");
  append_fingerprint(out, meta);
  if (usage_null) out.append(",\"usage\":null");
  out.push_back('}');
}

void append_usage_chunk(std::string& out, const ResponseMeta& meta, bool chat, const Usage& usage) {
  out.push_back('{');
  append_head(out, meta, chat ? "chat.completion.chunk" : "text_completion");
  out.push_back(',');
  if (chat) {
    append_fingerprint(out, meta);
    out.append(",\"choices\":[],");
  } else {
    out.append("\"choices\":[],");
    append_fingerprint(out, meta);
    out.push_back(',');
  }
  append_usage(out, usage);
  out.push_back('}');
}

void append_model(std::string& out, std::string_view model_id, int64_t created, uint32_t max_model_len) {
  out.append("{\"id\":");
  json::append_string(out, model_id);
  out.append(",\"object\":\"model\",\"created\":");
  append_integer(out, created);
  out.append(",\"owned_by\":\"ringserve\",\"max_model_len\":");
  append_integer(out, max_model_len);
  out.push_back('}');
}

void append_model_list(std::string& out, std::string_view model_id, int64_t created, uint32_t max_model_len) {
  out.append("{\"object\":\"list\",\"data\":[");
  append_model(out, model_id, created, max_model_len);
  out.append("]}");
}

}  // namespace rs::api
