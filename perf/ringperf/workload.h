#pragma once
// What a run sends: a deterministic sequence of requests (prompt text, output
// length) made from the scenario's workload section and its seed. Every sweep
// point restarts the sequence, so each point sends the same requests.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "perf/ringperf/request_spec.h"

namespace rs::ringperf {

enum class WorkloadType {
  sharegpt,            // input and output lengths drawn from ShareGPT's distribution (length_distribution.h)
  fixed,               // every request the same lengths
  shared_prefix,       // a few long system prompts, each shared by many users' questions (prefix caches)
  repeated_questions,  // a small set of questions asked again and again (prefix and semantic caches)
  jsonl,               // prompts from a file (prompt_file.h)
};

struct WorkloadConfig {
  WorkloadType type = WorkloadType::sharegpt;
  uint64_t seed = 1;
  // sharegpt: the distribution's lengths times length_scale, then capped.
  double length_scale = 1.0;
  std::optional<int> max_input_tokens;
  std::optional<int> max_output_tokens;
  // fixed: input_tokens; shared_prefix and repeated_questions: question_tokens.
  int input_tokens = 0;
  int output_tokens = 0;  // fixed, shared_prefix, repeated_questions; jsonl: lines without max_tokens (0: none)
  int question_tokens = 0;
  int prefixes = 0;  // shared_prefix: how many system prompts
  int prefix_tokens = 0;
  int questions = 0;  // repeated_questions: how many distinct questions
  // repeated_questions: the chance that a request asks one of the `questions` (drawn per request, seeded); else it
  // asks a fresh question of its own. 1: every request repeats (and draws nothing more than before the option).
  double repeat_fraction = 1.0;
  std::string path;   // jsonl: the file, resolved against the scenario's folder
};

class Workload {
 public:
  virtual ~Workload() = default;
  // Back to the first request.
  virtual void restart() = 0;
  virtual RequestSpec next() = 0;

  // `tokens_per_word` turns token counts into words of prompt text (prompt_text.h).
  // Throws std::runtime_error when a prompt file cannot be read, or holds chat
  // messages and the endpoint is not chat.
  static std::unique_ptr<Workload> create(const WorkloadConfig& config, double tokens_per_word, bool chat_endpoint);
};

std::string_view workload_type_name(WorkloadType type);

}  // namespace rs::ringperf
