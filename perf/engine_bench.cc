// engine_bench: the CPU executor's speed on one model, as perf/cpu-bench.sh
// compares it with llama.cpp: prompt processing, decode at batch 1 and
// aggregate decode with many sequences in one batch. Prints JSON lines.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <numeric>
#include <vector>

#include "core/engine/cpu_executor.h"

namespace {

using namespace rs;
using Clock = std::chrono::steady_clock;

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Bytes of weights one decode step reads: every layer's matrices and the LM head.
uint64_t weight_bytes_per_step(const engine::ModelWeights& w) {
  uint64_t bytes = w.output.rows * w.output.row_bytes;
  for (const engine::LayerWeights& l : w.layers) {
    for (const kernels::Matrix* m : {&l.q, &l.k, &l.v, &l.o, &l.gate, &l.up, &l.down}) bytes += m->rows * m->row_bytes;
  }
  return bytes;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"The CPU executor's prefill and decode speed on one model (JSON lines on stdout)"};
  std::string model;
  unsigned threads = 0;
  uint32_t prompt = 512, steps = 32, repeats = 5;
  std::vector<uint32_t> batches = {1, 8, 32};
  app.add_option("--model", model, "GGUF model")->required()->check(CLI::ExistingFile);
  app.add_option("--threads", threads, "Compute threads (default: every core)");
  app.add_option("--prompt", prompt, "Prompt tokens for the prefill figure")->capture_default_str();
  app.add_option("--steps", steps, "Decode steps per measurement")->capture_default_str();
  app.add_option("--repeats", repeats, "Measurements; the median is reported")->capture_default_str();
  app.add_option("--batches", batches, "Sequences decoding together")->delimiter(',')->capture_default_str();
  bool no_huge_pages = false;
  app.add_flag("--no-huge-pages", no_huge_pages, "Leave the weights on 4 KiB pages (serve moves them to huge pages)");
  CLI11_PARSE(app, argc, argv);

  const engine::ModelWeights weights(engine::describe_model(model), {});
  if (!no_huge_pages) weights.move_to_huge_pages();  // as serve does, beside the engine, once started
  const uint32_t max_batch = *std::max_element(batches.begin(), batches.end());
  const uint32_t context = std::max(prompt, 16 + steps) + 1;
  const uint32_t blocks_per_sequence = (context + 15) / 16;
  engine::CpuExecutor executor(weights, {.threads = threads, .kv_blocks = blocks_per_sequence * max_batch});
  const uint32_t vocab = uint32_t(weights.output.rows);
  std::vector<engine::BlockId> blocks(blocks_per_sequence * max_batch);
  std::iota(blocks.begin(), blocks.end(), 0);
  const auto blocks_of = [&](uint32_t s) { return std::span(blocks).subspan(s * blocks_per_sequence, blocks_per_sequence); };
  engine::Logits logits;

  // Prefill: one sequence's prompt in one step.
  std::vector<engine::TokenId> tokens(std::max(prompt, 16 + steps));
  for (uint32_t i = 0; i < tokens.size(); ++i) tokens[i] = engine::TokenId((i * 7919 + 13) % vocab);
  std::vector<double> prefill_s;
  for (uint32_t r = 0; r < repeats; ++r) {
    engine::Batch batch;
    batch.sequences.push_back({std::span(tokens).first(prompt), 0, blocks_of(0), true});
    const auto start = Clock::now();
    executor.step(batch, logits);
    prefill_s.push_back(std::chrono::duration<double>(Clock::now() - start).count());
  }
  fmt::print("{{\"what\":\"prefill\",\"tokens\":{},\"tok_s\":{:.2f}}}\n", prompt, prompt / median(prefill_s));

  // Decode: `batch` sequences of 16 prompt tokens, then `steps` steps of one token each.
  const uint64_t bytes = weight_bytes_per_step(weights);
  for (const uint32_t batch_size : batches) {
    std::vector<double> step_s;
    for (uint32_t r = 0; r < repeats; ++r) {
      engine::Batch batch;
      for (uint32_t s = 0; s < batch_size; ++s) batch.sequences.push_back({std::span(tokens).first(16), 0, blocks_of(s), true});
      executor.step(batch, logits);
      const auto start = Clock::now();
      for (uint32_t step = 0; step < steps; ++step) {
        for (uint32_t s = 0; s < batch_size; ++s) {
          batch.sequences[s] = {std::span(tokens).subspan(16 + step, 1), 16 + step, blocks_of(s), true};
        }
        executor.step(batch, logits);
      }
      step_s.push_back(std::chrono::duration<double>(Clock::now() - start).count() / steps);
    }
    const double per_step = median(step_s);
    fmt::print("{{\"what\":\"decode\",\"batch\":{},\"tok_s\":{:.2f},\"step_ms\":{:.3f},\"weight_bytes\":{},\"weight_gb_s\":{:.2f}}}\n",
               batch_size, batch_size / per_step, per_step * 1e3, bytes, double(bytes) / per_step / 1e9);
  }
  return 0;
}
