// engine_bench: an executor's speed on one model, as perf/cpu-bench.sh
// compares the CPU executor with llama.cpp and perf/gpu-bench.sh the CUDA
// executor with the device's copy bandwidth and transformers: prompt
// processing, decode at batch 1 and aggregate decode with many sequences in
// one batch. Prints JSON lines.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <exception>
#include <map>
#include <numeric>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/cpu/cpu_executor.h"
#include "gpu/bandwidth.h"
#include "gpu/cuda_model.h"
#include "gpu/device.h"

namespace {

using namespace rs;
using Clock = std::chrono::steady_clock;

enum class Device { cpu, cuda };

constexpr uint32_t kBlockTokens = 16;   // both executors' default KV block
constexpr uint32_t kDecodePrompt = 16;  // prompt tokens of each decoding sequence

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Bytes of weights one decode step reads: every layer's matrices and the LM head.
uint64_t weight_bytes_per_step(const cpu::ModelWeights& w) {
  uint64_t bytes = w.output.rows * w.output.row_bytes;
  for (const cpu::LayerWeights& l : w.layers) {
    for (const kernels::Matrix* m : {&l.q, &l.k, &l.v, &l.o, &l.gate, &l.up, &l.down}) bytes += m->rows * m->row_bytes;
  }
  return bytes;
}

struct BenchOptions {
  uint32_t prompt, steps, repeats;
  std::vector<uint32_t> batches;
  uint32_t blocks_per_sequence;
  uint32_t warmups;  // unmeasured runs before each measurement (CUDA: graph capture, cuBLAS set-up)
};

// What the device figures add to each decode line: the bound that reading every weight once per step at the
// device's copy bandwidth puts on tokens/s. Zero for the CPU, whose lines stay as they were.
struct DecodeBound {
  double copy_gb_s = 0;
};

// Prefill, then decode at every batch size; one JSON line each.
void bench(engine::Executor& executor, size_t vocab_size, uint64_t bytes, const BenchOptions& o,
           const DecodeBound& bound) {
  const uint32_t max_batch = *std::max_element(o.batches.begin(), o.batches.end());
  const auto vocab = uint32_t(vocab_size);
  std::vector<engine::BlockId> blocks(o.blocks_per_sequence * max_batch);
  std::iota(blocks.begin(), blocks.end(), 0);
  const auto blocks_of = [&](uint32_t s) {
    return std::span(blocks).subspan(s * o.blocks_per_sequence, o.blocks_per_sequence);
  };
  engine::Logits logits;

  // Prefill: one sequence's prompt in one step.
  std::vector<engine::TokenId> tokens(std::max(o.prompt, kDecodePrompt + o.steps));
  for (uint32_t i = 0; i < tokens.size(); ++i) tokens[i] = engine::TokenId((i * 7919 + 13) % vocab);
  std::vector<double> prefill_s;
  for (uint32_t r = 0; r < o.warmups + o.repeats; ++r) {
    engine::Batch batch;
    batch.sequences.push_back({std::span(tokens).first(o.prompt), 0, blocks_of(0), true});
    const auto start = Clock::now();
    executor.step(batch, logits);
    if (r >= o.warmups) prefill_s.push_back(std::chrono::duration<double>(Clock::now() - start).count());
  }
  fmt::print("{{\"what\":\"prefill\",\"tokens\":{},\"tok_s\":{:.2f}}}\n", o.prompt, o.prompt / median(prefill_s));

  // Decode: `batch` sequences of 16 prompt tokens, then `steps` steps of one token each.
  for (const uint32_t batch_size : o.batches) {
    std::vector<double> step_s;
    for (uint32_t r = 0; r < o.warmups + o.repeats; ++r) {
      engine::Batch batch;
      for (uint32_t s = 0; s < batch_size; ++s) {
        batch.sequences.push_back({std::span(tokens).first(kDecodePrompt), 0, blocks_of(s), true});
      }
      executor.step(batch, logits);
      const auto start = Clock::now();
      for (uint32_t step = 0; step < o.steps; ++step) {
        for (uint32_t s = 0; s < batch_size; ++s) {
          batch.sequences[s] = {std::span(tokens).subspan(kDecodePrompt + step, 1), kDecodePrompt + step,
                                blocks_of(s), true};
        }
        executor.step(batch, logits);
      }
      if (r >= o.warmups) step_s.push_back(std::chrono::duration<double>(Clock::now() - start).count() / o.steps);
    }
    const double per_step = median(step_s);
    const double tok_s = batch_size / per_step;
    std::string device_fields;
    if (bound.copy_gb_s > 0) {
      const double bound_tok_s = batch_size * bound.copy_gb_s * 1e9 / double(bytes);
      device_fields = fmt::format(",\"bound_tok_s\":{:.2f}", bound_tok_s);
      if (batch_size == 1) device_fields += fmt::format(",\"of_bound\":{:.3f}", tok_s / bound_tok_s);
    }
    fmt::print("{{\"what\":\"decode\",\"batch\":{},\"tok_s\":{:.2f},\"step_ms\":{:.3f},\"weight_bytes\":{},"
               "\"weight_gb_s\":{:.2f}{}}}\n",
               batch_size, tok_s, per_step * 1e3, bytes, double(bytes) / per_step / 1e9, device_fields);
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"An executor's prefill and decode speed on one model (JSON lines on stdout)"};
  std::string model;
  Device device = Device::cpu;
  unsigned threads = 0;
  uint32_t prompt = 512, steps = 32, repeats = 5;
  std::vector<uint32_t> batches;
  app.add_option("--model", model, "GGUF model")->required()->check(CLI::ExistingFile);
  app.add_option("--device", device, "Executor: cpu, or cuda (device 0)")
      ->transform(CLI::CheckedTransformer(std::map<std::string, Device>{{"cpu", Device::cpu}, {"cuda", Device::cuda}},
                                          CLI::ignore_case))
      ->default_str("cpu");
  app.add_option("--threads", threads, "Compute threads of the CPU executor (default: every core)");
  app.add_option("--prompt", prompt, "Prompt tokens for the prefill figure")->capture_default_str();
  app.add_option("--steps", steps, "Decode steps per measurement")->capture_default_str();
  app.add_option("--repeats", repeats, "Measurements; the median is reported")->capture_default_str();
  app.add_option("--batches", batches, "Sequences decoding together (default: 1,8,32; with cuda 1,8,32,64,128)")
      ->delimiter(',');
  bool no_huge_pages = false;
  app.add_flag("--no-huge-pages", no_huge_pages, "Leave the weights on 4 KiB pages (serve moves them to huge pages)");
  CLI11_PARSE(app, argc, argv);
  if (batches.empty()) {
    batches = device == Device::cuda ? std::vector<uint32_t>{1, 8, 32, 64, 128} : std::vector<uint32_t>{1, 8, 32};
  }
  if (prompt == 0 || steps == 0 || repeats == 0 || std::find(batches.begin(), batches.end(), 0u) != batches.end()) {
    fmt::print(stderr, "engine_bench: --prompt, --steps, --repeats and --batches must be positive\n");
    return 2;
  }

  const uint32_t max_batch = *std::max_element(batches.begin(), batches.end());
  const uint32_t context = std::max(prompt, kDecodePrompt + steps) + 1;
  const uint32_t blocks_per_sequence = (context + kBlockTokens - 1) / kBlockTokens;
  const BenchOptions bench_options{.prompt = prompt,
                                   .steps = steps,
                                   .repeats = repeats,
                                   .batches = batches,
                                   .blocks_per_sequence = blocks_per_sequence,
                                   .warmups = device == Device::cuda ? 1u : 0u};
  try {
    if (device == Device::cpu) {
      const cpu::ModelWeights weights(cpu::describe_model(model), {});
      if (!no_huge_pages) weights.move_to_huge_pages();  // as serve does, beside the engine, once started
      cpu::CpuExecutor executor(
          weights, {.threads = threads, .kv_blocks = blocks_per_sequence * max_batch, .block_tokens = kBlockTokens});
      bench(executor, weights.output.rows, weight_bytes_per_step(weights), bench_options, {});
      return 0;
    }
    std::string why_none;
    const std::vector<gpu::Device> devices = gpu::visible_devices(why_none);
    if (devices.empty()) throw std::runtime_error("--device cuda: no CUDA device: " + why_none);
    // Measured before the model takes its memory; the bound every decode line is compared with.
    const double copy_gb_s = gpu::device_copy_gb_s(0);
    // Sized for exactly this run: every sequence's whole context, and the 16-token prompts of the largest decode
    // batch in one step.
    gpu::CudaModel cuda_model(cpu::describe_model(model), 0,
                              {.kv_blocks = blocks_per_sequence * max_batch,
                               .block_tokens = kBlockTokens,
                               .max_batch_tokens = std::max(prompt, kDecodePrompt * max_batch),
                               .max_seqs = max_batch,
                               .ctx_size = context},
                              io::StreamOptions{});
    const gpu::DeviceLoadResult& load = cuda_model.load();
    const double load_gbps = load.stream.seconds > 0 ? double(load.stream.bytes) / load.stream.seconds / 1e9 : 0;
    fmt::print("{{\"what\":\"device\",\"name\":\"{}\",\"copy_gb_s\":{:.1f},\"weight_bytes_per_step\":{},"
               "\"load_gbps\":{:.3f}}}\n",
               devices[0].name, copy_gb_s, cuda_model.bytes_per_step(), load_gbps);
    bench(cuda_model.executor(), cuda_model.vocab_size(), cuda_model.bytes_per_step(), bench_options,
          {.copy_gb_s = copy_gb_s});
    return 0;
  } catch (const std::exception& e) {
    fmt::print(stderr, "engine_bench: {}\n", e.what());
    return 1;
  }
}
