#pragma once
// One event of an OpenAI-style stream, read for what ringperf measures: how
// much text it carries, whether a choice finished, the usage block, an error.
#include <simdjson.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace rs::ringperf {

struct StreamChunk {
  size_t text_bytes = 0;  // choices[].text (completions), choices[].delta.content / reasoning_content (chat)
  bool finished = false;  // some choice has a finish_reason
  std::optional<int64_t> prompt_tokens;      // usage.prompt_tokens
  std::optional<int64_t> completion_tokens;  // usage.completion_tokens
  std::optional<std::string> error;          // an "error" object's message: the server gave up mid-stream
};

class StreamChunkReader {
 public:
  // The chunk in `payload` (an SSE data field); nullopt when it is not a JSON object.
  std::optional<StreamChunk> read(std::string_view payload);

 private:
  simdjson::dom::parser parser_;
  std::string padded_;  // simdjson reads a few bytes past the end: a copy with room for them
};

}  // namespace rs::ringperf
