// `ringserve run`: one prompt through the engine at the terminal — the
// quickest check that a model loads and says what llama.cpp says. It loads and
// generates as `serve` does (model_engine.h): the same executor factory,
// scheduler, block size and end-of-generation tokens, with one request in flight.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <fstream>
#include <iostream>
#include <iterator>
#include <mutex>
#include <optional>

#include "core/api/structured_output.h"
#include "core/app/command.h"
#include "core/grammar/matcher.h"
#include "core/app/model_engine.h"
#include "core/base/json_write.h"
#include "core/base/log.h"
#include "core/sampler/sampling_params.h"
#include "core/tokenizer/stream_decoder.h"

namespace rs {
namespace {

using Clock = std::chrono::steady_clock;

constexpr uint32_t kPrefillChunk = 512;  // prompt tokens per step: bounds the executor's scratch memory

struct RunOptions {
  ModelEngineOptions engine;
  std::string prompt;
  bool prompt_given = false;
  int32_t max_tokens = 128;
  sampler::SamplingParams sampling;
  bool special = false;
  bool json = false;
  std::string json_schema_file, grammar_file, regex;  // an output constraint, as a request's
};

// The output constraint the options name (at most one), compiled for the model's vocabulary.
std::shared_ptr<const sampler::ConstraintSource> output_constraint(const RunOptions& o, const tokenizer::Tokenizer& t) {
  std::optional<std::pair<grammar::SourceKind, std::string>> source;
  const auto take = [&](grammar::SourceKind kind, std::string text, std::string_view flag) {
    if (source) throw std::invalid_argument(fmt::format("{} cannot be combined with another output constraint", flag));
    source.emplace(kind, std::move(text));
  };
  const auto read = [](const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  if (!o.json_schema_file.empty()) take(grammar::SourceKind::json_schema, read(o.json_schema_file), "--json-schema");
  if (!o.grammar_file.empty()) take(grammar::SourceKind::gbnf, read(o.grammar_file), "--grammar-file");
  if (!o.regex.empty()) take(grammar::SourceKind::regex, o.regex, "--regex");
  if (!source) return nullptr;
  try {
    return std::make_shared<grammar::GrammarConstraint>(
        api::grammar_compiler_for(t)->compile(source->first, source->second));
  } catch (const grammar::GrammarError& e) {
    throw std::invalid_argument(fmt::format("the output constraint cannot be used: {}", e.what()));
  }
}

// An event and when the engine handed it over: the end of the step that made it.
struct TimedEvent {
  engine::TokenEvent event;
  Clock::time_point at;
};

// Hands the events of one request from the engine thread to the thread that prints them.
class EventQueue final : public engine::EventSink {
 public:
  void deliver(std::vector<engine::TokenEvent> events) override {
    const Clock::time_point now = Clock::now();
    {
      const std::lock_guard lock(mutex_);
      for (engine::TokenEvent& event : events) events_.push_back({std::move(event), now});
    }
    ready_.notify_one();
  }
  void reject(uint64_t, std::string message, bool) override {
    {
      const std::lock_guard lock(mutex_);
      error_ = std::move(message);
    }
    ready_.notify_one();
  }
  // The next event, once it has come; throws what the engine rejected the request with.
  TimedEvent pop() {
    std::unique_lock lock(mutex_);
    ready_.wait(lock, [this] { return !events_.empty() || error_; });
    if (error_) throw std::invalid_argument(*error_);
    TimedEvent event = std::move(events_.front());
    events_.pop_front();
    return event;
  }

 private:
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<TimedEvent> events_;
  std::optional<std::string> error_;
};

struct Generation {
  std::vector<engine::TokenId> tokens;  // without the end-of-generation token that stopped it
  std::string text;
  double ttft_ms = 0;
  double decode_tok_s = 0;
};

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

// Runs `request` through the engine; with `print`, writes its text to stdout as tokens arrive.
Generation generate(ModelEngine& model, engine::GenerationRequest request, bool print) {
  tokenizer::StreamDecoder decoder(model.tokenizer());
  Generation out;
  const auto emit = [&](const std::string& piece) {
    out.text += piece;
    if (!print) return;
    std::fwrite(piece.data(), 1, piece.size(), stdout);
    std::fflush(stdout);
  };
  EventQueue events;
  const auto start = Clock::now();
  model.engine().submit(std::move(request), events, start);
  std::optional<Clock::time_point> first_token;
  Clock::time_point last_token;
  for (;;) {
    const auto [event, at] = events.pop();
    if (!first_token) first_token = at;
    last_token = at;
    if (event.finish == engine::Finish::stop) break;  // the end-of-generation token is no text
    out.tokens.push_back(event.token);
    emit(decoder.push(event.token));
    if (event.finish != engine::Finish::none) break;
  }
  emit(decoder.finish());
  out.ttft_ms = ms_between(start, *first_token);
  const double decode_s = ms_between(*first_token, last_token) / 1000.0;
  out.decode_tok_s = out.tokens.size() > 1 && decode_s > 0 ? double(out.tokens.size() - 1) / decode_s : 0.0;
  return out;
}

int run(RunOptions& o) {
  if (o.engine.model.empty()) {
    log::info("run: no --model, using the built-in demo model (random weights: its text is noise)");
  }
  if (!o.prompt_given) o.prompt = std::string(std::istreambuf_iterator<char>(std::cin), {});
  ModelEngine model(o.engine);
  engine::GenerationRequest request;
  request.id = 1;
  request.prompt = model.tokenizer().encode(o.prompt, true, o.special);
  if (request.prompt.empty()) {
    throw std::invalid_argument("the prompt is empty and the model adds no BOS: nothing to continue");
  }
  if (const auto error = o.sampling.validate(model.tokenizer().vocab().size())) throw std::invalid_argument(*error);
  request.sampling = o.sampling;
  request.sampling.constraint = output_constraint(o, model.tokenizer());
  request.max_tokens = uint32_t(o.max_tokens);
  const std::vector<engine::TokenId> prompt_tokens = request.prompt;
  const Generation g = generate(model, std::move(request), !o.json);
  if (o.json) {
    fmt::print("{{\"prompt_tokens\":[{}],\"tokens\":[{}],\"text\":{},\"ttft_ms\":{:.3f},\"decode_tok_s\":{:.3f}}}\n",
               fmt::join(prompt_tokens, ","), fmt::join(g.tokens, ","), json::quote(g.text), g.ttft_ms,
               g.decode_tok_s);
  } else {
    std::fputc('\n', stdout);
    log::info("run: {} prompt tokens, {} generated; first token after {:.1f} ms, then {:.1f} tokens/s",
              prompt_tokens.size(), g.tokens.size(), g.ttft_ms, g.decode_tok_s);
  }
  return 0;
}

}  // namespace

Command add_run_command(CLI::App& app) {
  CLI::App& command = *app.add_subcommand(
      "run", "Generate a continuation of one prompt and print it (greedy unless --temp)");
  auto o = std::make_shared<RunOptions>();
  o->sampling.temperature = 0.0f;
  o->engine.limits = {.max_batch_tokens = kPrefillChunk, .max_seqs = 1};  // one request at a time
  o->engine.kv_for_max_seqs_only = true;  // one context's blocks, on a GPU as on the CPU
  command.add_option("--model", o->engine.model,
                     "A GGUF model, or a Hugging Face model directory (default: the built-in demo model, random "
                     "weights)")
      ->check(CLI::ExistingPath);
  command.add_option("-p,--prompt", o->prompt, "The prompt (default: read from stdin)");
  command.add_option("-n,--max-tokens", o->max_tokens, "Most tokens to generate")
      ->check(CLI::Range(1, 1 << 30))
      ->capture_default_str();
  command.add_option("--temp", o->sampling.temperature, "Temperature; 0 is greedy")
      ->check(CLI::Range(0.0, 2.0))
      ->capture_default_str();
  command.add_option("--top-k", o->sampling.top_k, "Keep the k most likely tokens (0: all)")->capture_default_str();
  command.add_option("--top-p", o->sampling.top_p, "Keep the most likely tokens up to this probability mass")
      ->capture_default_str();
  command.add_option("--min-p", o->sampling.min_p, "Drop tokens less likely than this times the most likely")
      ->capture_default_str();
  command.add_option("--seed", o->sampling.seed, "Seed of the sampler (default: random)");
  add_device_option(command, o->engine.device,
                    "Where the model runs: cuda (device 0), cpu, or auto (cuda where a GPU is visible)");
  command.add_option("--threads", o->engine.threads, "CPU compute threads (default: every core)");
  command.add_option("--kv-type", o->engine.kv_type, "KV cache type: f16, or q8_0 for half the memory")
      ->check(CLI::IsMember({"f16", "q8_0", "f32"}))
      ->capture_default_str();
  command.add_option("--ctx-size", o->engine.ctx_size, "Context length: prompt plus generated tokens")
      ->check(CLI::Range(2u, 1u << 24))  // the scheduler needs room for a prompt token and one more
      ->capture_default_str();
  command.add_flag("--special", o->special,
                   "Read special tokens written in the prompt (say <|eot_id|>) as those tokens");
  command.add_flag("--ignore-eos", o->sampling.ignore_eos,
                   "Keep generating past the model's end-of-generation tokens (end of text, end of turn)");
  command.add_option("--json-schema", o->json_schema_file,
                     "Constrain the output to the instances of this JSON Schema file")
      ->check(CLI::ExistingFile);
  command.add_option("--grammar-file", o->grammar_file,
                     "Constrain the output to this GBNF grammar (llama.cpp's notation)")
      ->check(CLI::ExistingFile);
  command.add_option("--regex", o->regex, "Constrain the output to match this regular expression");
  command.add_flag("--json", o->json,
                   "Print one JSON object: prompt_tokens (with the BOS the model adds), tokens, text, ttft_ms, "
                   "decode_tok_s");
  return {&command, [o, &command] {
            o->prompt_given = command.count("--prompt") > 0;
            try {
              return run(*o);
            } catch (const std::exception& e) {
              log::error("run: {}", e.what());
              return 1;
            }
          }};
}

}  // namespace rs
