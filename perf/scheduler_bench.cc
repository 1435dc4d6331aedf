// The scheduler's own cost per request (Google Benchmark), with the prefix
// cache on and off, over an executor that computes nothing: what hashing a
// prompt's blocks, looking them up and caching them adds to admitting,
// planning and updating, to set against a real prefill's milliseconds
// (perf/results/cache.md). Prompts share nothing: the cache never hits.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

#include "core/engine/scheduler.h"

namespace rs::engine {
namespace {

constexpr uint32_t kVocab = 256;

// Blocks of the right shape, logits of zeros: the scheduler's work and nothing else.
class NullExecutor final : public Executor {
 public:
  explicit NullExecutor(uint32_t blocks) { kv_.n_blocks = blocks; }
  void step(const Batch& batch, Logits& logits) override {
    size_t rows = 0;
    for (const SequenceStep& s : batch.sequences) rows += s.logits;
    logits.vocab = kVocab;
    logits.values.assign(rows * kVocab, 0.0f);
  }
  const kv::KvLayout& kv_layout() const override { return kv_; }
  void read_kv_block(kv::BlockId, std::span<std::byte>) const override {}
  void write_kv_block(kv::BlockId, std::span<const std::byte>) override {}

 private:
  kv::KvLayout kv_{.n_layers = 1, .n_kv_heads = 1, .head_dim = 32, .block_tokens = 16};
};

// Requests of `prompt` tokens of their own, one generated token each, run to the end in steps of 8.
void BM_Requests(benchmark::State& state) {
  const uint32_t prompt = uint32_t(state.range(0));
  const bool caching = state.range(1) != 0;
  NullExecutor executor(1 << 16);
  Scheduler scheduler(executor, {.max_batch_tokens = 8 * prompt, .max_seqs = 8, .ctx_size = 4096}, {},
                      {caching, 0x5eed});
  uint64_t id = 0;
  StepReport report;
  for (auto _ : state) {
    for (int r = 0; r < 8; ++r) {
      GenerationRequest request;
      request.id = ++id;
      for (uint32_t t = 0; t < prompt; ++t) request.prompt.push_back(TokenId((id * 131 + t * 7) % kVocab));
      request.sampling.temperature = 0;
      request.sampling.ignore_eos = true;
      scheduler.add(std::move(request));
    }
    while (!scheduler.idle()) scheduler.step(report);
  }
  state.SetItemsProcessed(int64_t(state.iterations()) * 8);  // requests
  state.SetLabel(caching ? "prefix cache on" : "prefix cache off");
}
BENCHMARK(BM_Requests)->ArgsProduct({{512, 2048}, {0, 1}})->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace rs::engine

BENCHMARK_MAIN();
