#pragma once
// A JSONL file of prompts, one JSON object a line:
//   {"prompt": "…"}                     a completion prompt (or a chat user message)
//   {"messages": [{"role": …, "content": …}, …]}   a chat conversation, sent as is
// either with an optional "max_tokens": the output length to ask for.
// Blank lines are skipped; anything else is an error naming file and line.
#include <optional>
#include <string>
#include <vector>

namespace rs::ringperf {

struct PromptLine {
  std::string prompt;
  std::string messages_json;  // minified, when the line had messages
  std::optional<int> max_tokens;
};

// Throws std::runtime_error "FILE:LINE: what is wrong".
std::vector<PromptLine> read_prompt_file(const std::string& path);

}  // namespace rs::ringperf
