#pragma once
// tool_choice "required" or a named function: the JSON Schema the output is
// held to (the grammar engine compiles it), and reading that output. As vLLM
// does, the output is not the model's own call format but plain JSON:
//   required  [{"name": "f", "arguments": {…}}, …], one or more calls (one without parallel_tool_calls)
//   named     {…}, the arguments of one call to that function
// Being held to the schema, it is valid JSON as it grows, so argument text
// streams out as it is generated.
#include <memory>
#include <span>
#include <string>

#include "core/api/tool_calls.h"

namespace rs::api {

// Whether `choice` holds the output to a schema.
inline bool forces_tool_call(const ToolChoice& choice) {
  return choice.kind == ToolChoice::Kind::required || choice.kind == ToolChoice::Kind::named;
}

// The JSON Schema text for `choice` (required or named): named, the function's parameters; required, an array
// (minItems 1; maxItems 1 unless `parallel`) of anyOf, per tool,
// {"type":"object","properties":{"name":{"const":NAME},"arguments":PARAMETERS},
//  "required":["name","arguments"],"additionalProperties":false}.
std::string forced_tool_call_schema(std::span<const Tool> tools, const ToolChoice& choice, bool parallel);

// Reads the output of `choice` (required or named). Text that leaves the shape above (only possible when no
// grammar held the output to it) goes out as content from where it leaves it; a call already begun stays as far
// as it got. Ids are made as new_tool_call_id(format) makes them.
std::unique_ptr<ToolCallReader> forced_tool_call_reader(const ToolChoice& choice, ToolCallFormat format);

}  // namespace rs::api
