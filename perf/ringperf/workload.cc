#include "perf/ringperf/workload.h"

#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>

#include "perf/ringperf/length_distribution.h"
#include "perf/ringperf/prompt_file.h"
#include "perf/ringperf/prompt_text.h"

namespace rs::ringperf {

std::string_view workload_type_name(WorkloadType type) {
  switch (type) {
    case WorkloadType::sharegpt: return "sharegpt";
    case WorkloadType::fixed: return "fixed";
    case WorkloadType::shared_prefix: return "shared_prefix";
    case WorkloadType::repeated_questions: return "repeated_questions";
    case WorkloadType::jsonl: return "jsonl";
  }
  return "unknown";
}

namespace {

// The part every generated workload shares: a seeded generator that restarts, and prompt text.
class GeneratedWorkload : public Workload {
 public:
  GeneratedWorkload(const WorkloadConfig& config, double tokens_per_word)
      : config_(config), text_(tokens_per_word), rng_(config.seed) {}
  void restart() override { rng_.seed(config_.seed); }

 protected:
  const WorkloadConfig config_;
  const PromptText text_;
  Rng rng_;
};

class ShareGptWorkload final : public GeneratedWorkload {
 public:
  ShareGptWorkload(const WorkloadConfig& config, double tokens_per_word)
      : GeneratedWorkload(config, tokens_per_word),
        input_(kShareGptInput, config.length_scale),
        output_(kShareGptOutput, config.length_scale) {}

  RequestSpec next() override {
    int input = input_.sample(rng_);
    int output = output_.sample(rng_);
    if (config_.max_input_tokens) input = std::min(input, *config_.max_input_tokens);
    if (config_.max_output_tokens) output = std::min(output, *config_.max_output_tokens);
    RequestSpec spec;
    spec.user = text_.make(input, rng_);
    spec.max_tokens = output;
    spec.estimated_prompt_tokens = input;
    return spec;
  }

 private:
  LengthDistribution input_;
  LengthDistribution output_;
};

class FixedWorkload final : public GeneratedWorkload {
 public:
  using GeneratedWorkload::GeneratedWorkload;
  RequestSpec next() override {
    RequestSpec spec;
    spec.user = text_.make(config_.input_tokens, rng_);
    spec.max_tokens = config_.output_tokens;
    spec.estimated_prompt_tokens = config_.input_tokens;
    return spec;
  }
};

// A fixed set of texts made once from the seed; each request picks one, uniformly.
class PooledWorkload : public GeneratedWorkload {
 public:
  PooledWorkload(const WorkloadConfig& config, double tokens_per_word, int count, int tokens)
      : GeneratedWorkload(config, tokens_per_word) {
    Rng pool_rng(config.seed ^ 0x9e3779b97f4a7c15ULL);  // its own stream: the pool does not depend on the requests
    for (int i = 0; i < count; ++i) pool_.push_back(text_.make(tokens, pool_rng));
  }

 protected:
  const std::string& pick() { return pool_[uniform_index(rng_, pool_.size())]; }

 private:
  std::vector<std::string> pool_;
};

class SharedPrefixWorkload final : public PooledWorkload {
 public:
  SharedPrefixWorkload(const WorkloadConfig& config, double tokens_per_word)
      : PooledWorkload(config, tokens_per_word, config.prefixes, config.prefix_tokens) {}
  RequestSpec next() override {
    RequestSpec spec;
    spec.system = pick();
    spec.user = text_.make(config_.question_tokens, rng_);
    spec.max_tokens = config_.output_tokens;
    spec.estimated_prompt_tokens = config_.prefix_tokens + config_.question_tokens;
    return spec;
  }
};

class RepeatedQuestionsWorkload final : public PooledWorkload {
 public:
  RepeatedQuestionsWorkload(const WorkloadConfig& config, double tokens_per_word)
      : PooledWorkload(config, tokens_per_word, config.questions, config.question_tokens) {}
  RequestSpec next() override {
    RequestSpec spec;
    const bool repeat = config_.repeat_fraction >= 1.0 || uniform01(rng_) < config_.repeat_fraction;
    spec.user = repeat ? pick() : text_.make(config_.question_tokens, rng_);
    spec.max_tokens = config_.output_tokens;
    spec.estimated_prompt_tokens = config_.question_tokens;
    return spec;
  }
};

// The file's prompts in order, starting over at the end.
class PromptFileWorkload final : public Workload {
 public:
  PromptFileWorkload(const WorkloadConfig& config, double tokens_per_word, bool chat_endpoint)
      : lines_(read_prompt_file(config.path)), tokens_per_word_(tokens_per_word) {
    if (config.output_tokens > 0) default_max_tokens_ = config.output_tokens;
    if (!chat_endpoint) {
      for (const PromptLine& line : lines_) {
        if (!line.messages_json.empty()) {
          throw std::runtime_error(
              fmt::format("{}: has chat \"messages\", which only the chat endpoint takes (set \"endpoint\": \"chat\")",
                          config.path));
        }
      }
    }
  }
  void restart() override { position_ = 0; }
  RequestSpec next() override {
    const PromptLine& line = lines_[position_];
    position_ = (position_ + 1) % lines_.size();
    RequestSpec spec;
    spec.user = line.prompt;
    spec.messages_json = line.messages_json;
    spec.max_tokens = line.max_tokens ? line.max_tokens : default_max_tokens_;
    const std::string_view text = line.messages_json.empty() ? line.prompt : line.messages_json;
    const auto words = std::count(text.begin(), text.end(), ' ') + 1;
    spec.estimated_prompt_tokens = std::lround(static_cast<double>(words) * tokens_per_word_);
    return spec;
  }

 private:
  std::vector<PromptLine> lines_;
  double tokens_per_word_;
  std::optional<int> default_max_tokens_;
  size_t position_ = 0;
};

}  // namespace

std::unique_ptr<Workload> Workload::create(const WorkloadConfig& config, double tokens_per_word, bool chat_endpoint) {
  switch (config.type) {
    case WorkloadType::sharegpt: return std::make_unique<ShareGptWorkload>(config, tokens_per_word);
    case WorkloadType::fixed: return std::make_unique<FixedWorkload>(config, tokens_per_word);
    case WorkloadType::shared_prefix: return std::make_unique<SharedPrefixWorkload>(config, tokens_per_word);
    case WorkloadType::repeated_questions: return std::make_unique<RepeatedQuestionsWorkload>(config, tokens_per_word);
    case WorkloadType::jsonl: return std::make_unique<PromptFileWorkload>(config, tokens_per_word, chat_endpoint);
  }
  throw std::logic_error("unknown workload type");
}

}  // namespace rs::ringperf
