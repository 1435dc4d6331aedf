// `ringserve run`: one prompt through the engine at the terminal — the
// quickest check that a model loads and says what llama.cpp says.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <iterator>
#include <numeric>
#include <optional>
#include <thread>

#include "core/app/command.h"
#include "core/app/demo_model.h"
#include "core/app/device_choice.h"
#include "core/cpu/cpu_executor.h"
#include "core/base/json_write.h"
#include "core/base/log.h"
#include "core/sampler/sampler.h"
#include "core/tokenizer/stream_decoder.h"
#include "gpu/cuda_model.h"

namespace rs {
namespace {

using Clock = std::chrono::steady_clock;

struct RunOptions {
  std::string model;
  std::string prompt;
  bool prompt_given = false;
  int32_t max_tokens = 128;
  sampler::SamplingParams sampling;
  Device device = Device::automatic;
  unsigned threads = 0;
  std::string kv_type = "f16";
  uint32_t ctx_size = 4096;
  bool special = false;
  bool json = false;
};

constexpr uint32_t kPrefillChunk = 512;  // prompt tokens per step: bounds the executor's scratch memory

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

int run(RunOptions& o) {
  std::optional<DemoModelFile> demo;
  if (o.model.empty()) {
    log::info("run: no --model, using the built-in demo model (random weights: its text is noise)");
    demo.emplace();
  }
  const std::string& path = demo ? demo->path() : o.model;
  model::ModelDesc desc = cpu::describe_model(path);
  const tokenizer::Tokenizer tokenizer(tokenizer::vocab_from_metadata(desc.metadata, path));
  if (!o.prompt_given) o.prompt = std::string(std::istreambuf_iterator<char>(std::cin), {});
  std::vector<engine::TokenId> tokens = tokenizer.encode(o.prompt, true, o.special);
  if (tokens.empty()) throw std::invalid_argument("the prompt is empty and the model adds no BOS: nothing to continue");
  const uint32_t ctx = desc.context_length ? std::min(o.ctx_size, desc.context_length) : o.ctx_size;
  if (tokens.size() >= ctx) {
    throw std::invalid_argument(fmt::format("the prompt is {} tokens, the context {} (--ctx-size)", tokens.size(), ctx));
  }
  const uint32_t max_tokens = std::min<uint32_t>(uint32_t(o.max_tokens), ctx - uint32_t(tokens.size()));
  const model::TensorType kv_type = *model::tensor_type_from_name(o.kv_type);
  const uint32_t kv_blocks = (ctx + 15) / 16;

  // The model on the device --device names: the CUDA executor, or host weights and the CPU executor.
  std::unique_ptr<gpu::CudaModel> cuda;
  std::unique_ptr<cpu::ModelWeights> weights;
  std::unique_ptr<cpu::CpuExecutor> cpu;
  engine::Executor* executor = nullptr;
  size_t vocab_size = 0;
  if (resolves_to_cuda(o.device)) {
    cuda = std::make_unique<gpu::CudaModel>(
        std::move(desc), 0,
        gpu::CudaExecutorOptions{.kv_type = kv_type, .kv_blocks = kv_blocks, .block_tokens = 16,
                                 .max_batch_tokens = kPrefillChunk, .max_seqs = 1, .ctx_size = ctx},
        io::StreamOptions{});
    executor = &cuda->executor();
    vocab_size = cuda->vocab_size();
  } else {
    weights = std::make_unique<cpu::ModelWeights>(std::move(desc), io::StreamOptions{});
    cpu = std::make_unique<cpu::CpuExecutor>(
        *weights, cpu::CpuExecutorOptions{.threads = o.threads, .kv_type = kv_type, .kv_blocks = kv_blocks});
    executor = cpu.get();
    vocab_size = weights->output.rows;
  }
  demo.reset();  // loaded: the file is no longer needed
  if (const auto error = o.sampling.validate(vocab_size)) throw std::invalid_argument(*error);
  std::vector<engine::BlockId> blocks(executor->kv_layout().n_blocks);
  std::iota(blocks.begin(), blocks.end(), 0);

  const std::vector<engine::TokenId> prompt_tokens = tokens;
  sampler::Sampler sampler(o.sampling, prompt_tokens);
  tokenizer::StreamDecoder decoder(tokenizer);
  std::string text;
  const auto emit = [&](const std::string& piece) {
    text += piece;
    if (!o.json) {
      std::fwrite(piece.data(), 1, piece.size(), stdout);
      std::fflush(stdout);
    }
  };

  const auto start = Clock::now();
  Clock::time_point first_token;
  engine::Logits logits;
  std::vector<engine::TokenId> generated;
  size_t done = 0;
  while (generated.size() < max_tokens) {
    const size_t n = generated.empty() ? std::min<size_t>(kPrefillChunk, tokens.size() - done) : 1;
    engine::Batch batch;
    batch.sequences.push_back({std::span(tokens).subspan(done, n), uint32_t(done), blocks, done + n == tokens.size()});
    executor->step(batch, logits);
    done += n;
    if (done < tokens.size()) continue;  // more of the prompt to read
    const engine::TokenId next = sampler.sample(logits.row(0)).token;
    if (generated.empty()) first_token = Clock::now();
    if (!o.sampling.ignore_eos && next == tokenizer.vocab().eos) break;
    sampler.accept(next);
    generated.push_back(next);
    tokens.push_back(next);
    emit(decoder.push(next));
  }
  emit(decoder.finish());
  const auto end = Clock::now();
  const double ttft_ms = generated.empty() ? ms_between(start, end) : ms_between(start, first_token);
  const double decode_s = ms_between(first_token, end) / 1000.0;
  const double decode_tok_s = generated.size() > 1 && decode_s > 0 ? double(generated.size() - 1) / decode_s : 0.0;
  if (o.json) {
    fmt::print("{{\"prompt_tokens\":[{}],\"tokens\":[{}],\"text\":{},\"ttft_ms\":{:.3f},\"decode_tok_s\":{:.3f}}}\n",
               fmt::join(prompt_tokens, ","), fmt::join(generated, ","), json::quote(text), ttft_ms, decode_tok_s);
  } else {
    std::fputc('\n', stdout);
    log::info("run: {} prompt tokens, {} generated; first token after {:.1f} ms, then {:.1f} tokens/s",
              prompt_tokens.size(), generated.size(), ttft_ms, decode_tok_s);
  }
  return 0;
}

}  // namespace

Command add_run_command(CLI::App& app) {
  CLI::App& command = *app.add_subcommand(
      "run", "Generate a continuation of one prompt and print it (greedy unless --temp)");
  auto o = std::make_shared<RunOptions>();
  o->sampling.temperature = 0.0f;
  command.add_option("--model", o->model, "A GGUF model, or a Hugging Face model directory (default: the built-in demo model, random weights)")
      ->check(CLI::ExistingPath);
  command.add_option("-p,--prompt", o->prompt, "The prompt (default: read from stdin)");
  command.add_option("-n,--max-tokens", o->max_tokens, "Most tokens to generate")->check(CLI::Range(1, 1 << 30))->capture_default_str();
  command.add_option("--temp", o->sampling.temperature, "Temperature; 0 is greedy")->check(CLI::Range(0.0, 2.0))->capture_default_str();
  command.add_option("--top-k", o->sampling.top_k, "Keep the k most likely tokens (0: all)")->capture_default_str();
  command.add_option("--top-p", o->sampling.top_p, "Keep the most likely tokens up to this probability mass")->capture_default_str();
  command.add_option("--min-p", o->sampling.min_p, "Drop tokens less likely than this times the most likely")->capture_default_str();
  command.add_option("--seed", o->sampling.seed, "Seed of the sampler (default: random)");
  add_device_option(command, o->device, "Where the model runs: cuda (device 0), cpu, or auto (cuda where a GPU is "
                                        "visible)");
  command.add_option("--threads", o->threads, "CPU compute threads (default: every core)");
  command.add_option("--kv-type", o->kv_type, "KV cache type: f16, or q8_0 for half the memory")
      ->check(CLI::IsMember({"f16", "q8_0", "f32"}))->capture_default_str();
  command.add_option("--ctx-size", o->ctx_size, "Context length: prompt plus generated tokens")->check(CLI::Range(1u, 1u << 24))->capture_default_str();
  command.add_flag("--special", o->special, "Read special tokens written in the prompt (say <|eot_id|>) as those tokens");
  command.add_flag("--ignore-eos", o->sampling.ignore_eos, "Keep generating past the end-of-text token");
  command.add_flag("--json", o->json,
                   "Print one JSON object: prompt_tokens (with the BOS the model adds), tokens, text, ttft_ms, decode_tok_s");
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
