#pragma once
// One request as a workload describes it, before it becomes HTTP.
#include <optional>
#include <string>

namespace rs::ringperf {

struct RequestSpec {
  std::string system;         // a system prompt (the shared prefix); empty for none
  std::string user;           // the prompt, or the user's message
  std::string messages_json;  // a JSON array of chat messages from a prompt file; when set, system and user are unused
  std::optional<int> max_tokens;        // the output length to enforce; none: the server's default
  int64_t estimated_prompt_tokens = 0;  // what the workload aimed for (usage gives the true count)
};

}  // namespace rs::ringperf
