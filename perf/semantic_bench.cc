// The semantic cache's own cost (Google Benchmark): a lookup among 100,000
// answers of 384 dimensions (one conversation context, so every entry is a
// candidate for the scan), the whole server-side path of a semantic hit
// (parse the body, key it, search, write the response; the embedding excluded),
// and, apart, the embedding of the query on bge-small shapes
// (perf/results/semantic-cache.md).
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "cache/semantic_store.h"
#include "core/api/openai_request.h"
#include "core/api/openai_response.h"
#include "core/api/semantic_request.h"
#include "core/cpu/bert_encoder.h"
#include "core/model/synth.h"
#include "core/tokenizer/tokenizer.h"
#include "tests/cache/unit_vectors.h"

namespace rs {
namespace {

constexpr uint32_t kDims = 384;
const std::string kBody =
    R"({"model":"m","messages":[{"role":"system","content":"You are terse."},)"
    R"({"role":"user","content":"What is the tallest mountain in Europe?"}],"temperature":0,"max_tokens":64})";

int64_t now_ms() { return 1'000'000; }

// A store of `entries` answers under the benchmark request's context and guard; `hit` is the vector of one of them
// seen at cosine 0.97, `miss` a vector near none.
struct FilledStore {
  explicit FilledStore(uint32_t entries)
      : store({.dims = kDims, .capacity = entries, .max_bytes = uint64_t(entries) * 4096, .threshold = 0.95f}) {
    const api::CompletionRequest request = api::parse_completion_request(kBody, api::Endpoint::chat);
    query = *api::semantic_query(request, "m", false);
    std::mt19937_64 random(7);
    const cache::SemanticAnswer answer{"Mount Elbrus, 5,642 m.", "stop", 12};
    for (uint32_t i = 0; i < entries; ++i) {
      const std::vector<float> v = cache::testing::random_unit(random, kDims);
      if (i == entries / 2) hit = cache::testing::at_cosine(v, 0.97, random);
      store.insert({query.context, i + 1, query.guard}, v, answer, now_ms());  // exact keys of their own
    }
    miss = cache::testing::random_unit(random, kDims);
  }
  cache::SemanticStore store;
  api::SemanticQuery query;
  std::vector<float> hit, miss;
};

FilledStore& filled(uint32_t entries) {
  static std::unique_ptr<FilledStore> store;
  if (!store || store->store.options().capacity != entries) store = std::make_unique<FilledStore>(entries);
  return *store;
}

void BM_FindSimilar(benchmark::State& state) {
  FilledStore& f = filled(uint32_t(state.range(0)));
  const std::vector<float>& vector = state.range(1) ? f.hit : f.miss;
  const cache::SemanticKey key{f.query.context, 0, f.query.guard};
  for (auto _ : state) benchmark::DoNotOptimize(f.store.find_similar(key, vector, now_ms()));
  if (f.store.find_similar(key, vector, now_ms()).has_value() != bool(state.range(1))) state.SkipWithError("wrong");
}
BENCHMARK(BM_FindSimilar)->ArgsProduct({{10'000, 100'000}, {0, 1}})->ArgNames({"entries", "hit"});

void BM_FindExact(benchmark::State& state) {
  FilledStore& f = filled(100'000);
  const cache::SemanticKey key{f.query.context, 50'001, f.query.guard};
  for (auto _ : state) benchmark::DoNotOptimize(f.store.find_exact(key, now_ms()));
}
BENCHMARK(BM_FindExact);

// What a shard does for a semantic hit once the query's vector is there: parse, key, search, respond.
void BM_SemanticHitServerSide(benchmark::State& state) {
  FilledStore& f = filled(100'000);
  std::string body;
  for (auto _ : state) {
    const api::CompletionRequest request = api::parse_completion_request(kBody, api::Endpoint::chat);
    const api::SemanticQuery query = *api::semantic_query(request, "m", false);
    const auto hit = f.store.find_similar({query.context, query.exact, query.guard}, f.hit, now_ms());
    const api::ChoiceResult choice{0, hit->answer.text, hit->answer.finish_reason, false, {}, {}, {}};
    body.clear();
    api::append_chat_completion(body, {"chatcmpl-0", 0, "m", "fp"}, std::span(&choice, 1), {30, 12, 0});
    benchmark::DoNotOptimize(body);
  }
}
BENCHMARK(BM_SemanticHitServerSide);

// The query's embedding: bge-small shapes (synth, random weights), one thread, a 12-word question.
void BM_EmbedQuery(benchmark::State& state) {
  const std::string path = "/tmp/semantic-bench-bge-small-" + std::to_string(getpid()) + ".gguf";
  model::synth_model({.architecture = model::SynthArchitecture::bert, .preset = "bge-small",
                      .type = model::TensorType::f16, .output = path});
  cpu::BertEncoder encoder(path, 1);
  const tokenizer::Tokenizer tokenizer(tokenizer::read_vocab(path));
  std::filesystem::remove(path);
  const std::vector<int32_t> tokens = tokenizer.encode("What is the tallest mountain in Europe?", true);
  const std::span<const int32_t> input(tokens);
  std::vector<float> out(encoder.dims());
  for (auto _ : state) encoder.encode(std::span(&input, 1), out);
  state.counters["tokens"] = double(tokens.size());
}
BENCHMARK(BM_EmbedQuery)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace rs

BENCHMARK_MAIN();
