#pragma once
// OpenAI tool calling on /v1/chat/completions: the functions a request offers,
// its tool_choice, and the calls read out of what the model writes. With
// tool_choice "auto" the model writes calls in the format it was trained on,
// which its chat template shows (the three families below, as vLLM's tool
// parsers read them); "required" and a named function hold the output to a
// JSON Schema instead (forced_tool_calls.h).
//
// A ToolCallReader is fed the generated text as it comes (after stop strings
// are cut) and hands out the content and the calls in it: in order, holding
// back only text that may still turn out to be part of a call.
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace rs::api {

// One function of the request's `tools`.
struct Tool {
  std::string name;             // [a-zA-Z0-9_-]{1,64}, unique in the request
  std::string description;
  std::string parameters_json;  // a JSON Schema object, compact; {"type":"object","properties":{}} when not given
};

// The request's tool_choice.
struct ToolChoice {
  // automatic: OpenAI's "auto" (the model decides), the default when tools are given.
  enum class Kind { none, automatic, required, named } kind = Kind::none;
  std::string name;  // named: the function the model must call
};

// How a model family writes calls:
//   hermes       <tool_call>\n{"name": …, "arguments": {…}}\n</tool_call>, one or more, anywhere (Qwen 2.5, Hermes)
//   llama3_json  {"name": …, "parameters": {…}}, the whole output, optionally after <|python_tag|>, several
//                separated by ";" (Llama 3.1, 3.2)
//   mistral      [TOOL_CALLS] [{"name": …, "arguments": {…}}, …] (Mistral v0.3)
enum class ToolCallFormat { hermes, llama3_json, mistral };

std::string_view tool_call_format_name(ToolCallFormat format);
std::optional<ToolCallFormat> tool_call_format_named(std::string_view name);  // none for an unknown name
std::vector<std::string> tool_call_format_names();
// The format a chat template's model writes, from the markers its text shows; hermes when it shows none.
ToolCallFormat tool_call_format_of(std::string_view chat_template_source);
// The texts of the format's markers. Where the vocabulary has one as a control token (Mistral's [TOOL_CALLS]),
// the detokenizer drops it: whoever feeds a reader puts its text back.
std::span<const std::string_view> tool_call_markers(ToolCallFormat format);

// A fresh call id: "call_" and 24 random letters and digits; for mistral, whose template accepts nothing else,
// 9 letters and digits (as vLLM makes them).
std::string new_tool_call_id(ToolCallFormat format);

struct ToolCall {
  std::string id;
  std::string name;
  std::string arguments;  // JSON text, as OpenAI sends it
};

// A piece of one call as a stream sends it: the first piece of a call has its id and name, the others only
// more of its arguments.
struct ToolCallFragment {
  uint32_t index = 0;  // the call's place among the choice's calls
  std::string id;      // "" after the first piece
  std::string name;    // likewise
  std::string arguments;
};

// What a reader hands out from one piece of text: content (text outside calls) and pieces of calls.
struct ToolCallDelta {
  std::string content;
  std::vector<ToolCallFragment> calls;
};

class ToolCallReader {
 public:
  virtual ~ToolCallReader() = default;
  // Reads the next piece of generated text; appends what it makes ready to `out`.
  virtual void push(std::string_view text, ToolCallDelta& out) = 0;
  // The output has ended: appends everything still held back.
  virtual void finish(ToolCallDelta& out) = 0;
  // Whether a choice that stopped normally ends with finish_reason "tool_calls": it called a function, and
  // tool_choice did not name it (OpenAI answers "stop" to a named function).
  virtual bool finish_as_tool_calls() const = 0;
};

// tool_choice "auto": calls in `format`, at most `max_calls` of them (1 without parallel_tool_calls; later ones
// are dropped). Content keeps the model's text outside calls, less the whitespace next to a call; a call whose
// JSON does not parse, or lacks a name, stays content, as vLLM leaves it.
std::unique_ptr<ToolCallReader> native_tool_call_reader(ToolCallFormat format, uint32_t max_calls);

// A whole output as the response's message holds it.
struct ToolCallOutput {
  std::string content;
  std::vector<ToolCall> calls;
};
// Adds a fragment to the calls it continues, or begins one.
void add_fragment(std::vector<ToolCall>& calls, const ToolCallFragment& fragment);
// Adds a delta's content and fragments to `output`.
void accumulate(ToolCallOutput& output, const ToolCallDelta& delta);
// `text` as one push, then finish.
ToolCallOutput read_tool_calls(ToolCallReader& reader, std::string_view text);

}  // namespace rs::api
