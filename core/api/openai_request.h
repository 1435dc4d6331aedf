#pragma once
// The body of POST /v1/chat/completions and /v1/completions, parsed with
// simdjson into what the engine needs. Unknown fields are ignored, as OpenAI's
// and vLLM's servers ignore them; a field of the wrong type or out of range is
// an ApiError naming it. Fields a client would depend on that are not
// implemented yet (legacy functions, suffix, best_of > 1, audio)
// are refused, never ignored. Sizes come from the client: every count is bounded.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/api/api_error.h"
#include "core/api/tool_calls.h"
#include "core/grammar/grammar_compiler.h"
#include "core/sampler/sampling_params.h"

namespace simdjson::dom {
class element;
}

namespace rs::api {

enum class Endpoint { chat, completion };

inline constexpr int32_t kMaxChoices = 16;          // n
inline constexpr size_t kMaxPrompts = 64;           // /v1/completions prompt arrays
inline constexpr size_t kMaxMessages = 2048;        // chat messages, as OpenAI's API (each is rendered on the shard)
inline constexpr int32_t kMaxCompletionLogprobs = 5;  // legacy completions `logprobs`

// One /v1/completions prompt: text, or token ids given directly.
struct Prompt {
  std::string text;
  std::vector<int32_t> tokens;
  bool is_tokens = false;
};

// What the output must match: OpenAI's response_format (json_object, json_schema), vLLM's guided_json,
// guided_regex, guided_choice, guided_grammar and structured_outputs, llama.cpp's grammar and json_schema.
struct OutputConstraint {
  std::optional<grammar::SourceKind> kind;  // none: the output is free
  std::string text;   // the schema (JSON), the regex, the choices (a JSON array of strings) or the GBNF
  std::string param;  // the field it came from, which a 400 for an invalid or unsupported one names
};

struct CompletionRequest {
  Endpoint endpoint = Endpoint::chat;
  std::string model;  // as sent ("" when absent); the server decides whether it names its model

  // chat: the `messages` array as raw JSON, for chat::messages_from_json; and
  // `tools` as raw JSON ("" when absent or null), passed to the template even with tool_choice "none", as vLLM does.
  std::string messages_json;
  std::string tools_json;
  std::vector<Tool> tools;  // the same, checked
  ToolChoice tool_choice;   // "auto" when tools are given and tool_choice is not
  bool parallel_tool_calls = true;
  bool add_generation_prompt = true;  // vLLM extension
  // completion: one or more prompts; each gives `n` choices.
  std::vector<Prompt> prompts;
  bool echo = false;  // completion: the prompt's text precedes each choice's text

  // temperature, top_p, top_k (-1 → 0), min_p, penalties (presence,
  // frequency, repetition), logit_bias (keys are token ids as strings),
  // seed, max_tokens / max_completion_tokens (the latter wins), stop (string
  // or array of strings), stop_token_ids, ignore_eos, logprobs/top_logprobs.
  // Not yet checked against the vocabulary: SamplingParams::validate does that.
  sampler::SamplingParams sampling;
  int32_t n = 1;
  bool stream = false;
  bool include_usage = false;       // stream_options.include_usage
  bool skip_special_tokens = true;  // vLLM extension: control tokens stay out of the text
  std::string user;
  std::string cache_salt;  // vLLM's: shares the prefix cache only with requests of the same salt
  bool semantic_cache = true;  // `cache: false`: neither answered from the semantic cache nor stored in it
  OutputConstraint constraint;  // not compiled yet: the model's vocabulary is needed for that
};

// Throws ApiError (400, param = the field's name, e.g. "messages" or
// "stop[2]") for a body that is not a JSON object, a missing required field
// (chat: messages; completion: prompt), a wrong type, a value out of
// OpenAI's documented range (a tool that is not {"type":"function",
// "function":{"name":…}} with a unique name of 1 to 64 letters, digits, "_"
// and "-" and parameters an object; a tool_choice naming no tool, or
// "required" without tools), more than one output constraint (tool_choice
// "required" or a named function counts as one: forced_tool_calls.h), or a
// field that is not implemented yet: legacy functions unless function_call
// is "none", and any other function_call; completion suffix other than "";
// best_of above 1; modalities other than "text"; audio.
CompletionRequest parse_completion_request(std::string_view body, Endpoint endpoint);

// A list of prompts as /v1/completions' "prompt" and /v1/embeddings' "input" take it: a string, an array of
// strings, an array of token ids, or an array of arrays of token ids, at most `max` of them. Throws ApiError
// (400) naming `field` or the item at fault ("input[3]").
std::vector<Prompt> parse_prompts(const simdjson::dom::element& value, std::string_view field, size_t max);

// vLLM's /tokenize body: "prompt" (a string) or "messages" (an array of chat messages), add_special_tokens
// and add_generation_prompt (booleans, default true).
struct TokenizeRequest {
  std::optional<std::string> prompt;  // none: the messages are rendered by the chat template
  std::string messages_json;          // the `messages` array as raw JSON, for chat::messages_from_json
  bool add_special_tokens = true;
  bool add_generation_prompt = true;
};

// Throws ApiError (400) for a body that is not a JSON object, a flag that is not a boolean, or one with neither
// a string "prompt" nor an array "messages" (param "prompt").
TokenizeRequest parse_tokenize_request(std::string_view body);

// vLLM's /detokenize body, {"tokens": [ids]}: the ids. Throws ApiError (400) when "tokens" is not an array or
// an item is not an id below `vocab_size` (param "tokens[3]").
std::vector<int32_t> parse_detokenize_request(std::string_view body, size_t vocab_size);

}  // namespace rs::api
