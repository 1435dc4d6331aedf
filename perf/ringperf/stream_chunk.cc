#include "perf/ringperf/stream_chunk.h"

namespace rs::ringperf {
namespace {

using simdjson::dom::element;

size_t string_size(element parent, std::string_view key) {
  std::string_view text;
  if (parent.at_key(key).get(text)) return 0;  // absent, null or not a string
  return text.size();
}

std::optional<int64_t> count(element usage, std::string_view key) {
  int64_t value;
  if (usage.at_key(key).get(value)) return std::nullopt;
  return value;
}

}  // namespace

std::optional<StreamChunk> StreamChunkReader::read(std::string_view payload) {
  padded_.assign(payload);
  padded_.reserve(payload.size() + simdjson::SIMDJSON_PADDING);
  element root;
  if (parser_.parse(padded_.data(), padded_.size(), false).get(root) || !root.is_object()) return std::nullopt;

  StreamChunk chunk;
  simdjson::dom::array choices;
  if (!root.at_key("choices").get(choices)) {
    for (element choice : choices) {
      chunk.text_bytes += string_size(choice, "text");
      element delta;
      if (!choice.at_key("delta").get(delta)) {
        chunk.text_bytes += string_size(delta, "content") + string_size(delta, "reasoning_content");
      }
      element finish_reason;
      if (!choice.at_key("finish_reason").get(finish_reason) && !finish_reason.is_null()) chunk.finished = true;
    }
  }
  element usage;
  if (!root.at_key("usage").get(usage) && usage.is_object()) {
    chunk.prompt_tokens = count(usage, "prompt_tokens");
    chunk.completion_tokens = count(usage, "completion_tokens");
  }
  element error;
  if (!root.at_key("error").get(error) && !error.is_null()) {
    std::string_view message = "(no message)";
    if (std::string_view text; error.is_string())
      message = error.get_string().value_unsafe();
    else if (error.is_object() && !error.at_key("message").get(text))
      message = text;
    chunk.error = std::string(message);
  }
  return chunk;
}

}  // namespace rs::ringperf
