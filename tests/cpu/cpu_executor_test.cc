// The CPU executor against the float64 reference, against itself (batched,
// paged and chunked the same as alone, contiguous and in one step), and
// against llama.cpp on a real trained model.
#include "core/cpu/cpu_executor.h"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <numeric>
#include <random>
#include <thread>
#include <vector>

#include "core/model/synth.h"
#include "tests/support/ci.h"
#include "tests/cpu/greedy_reference.h"
#include "tests/cpu/reference_model.h"
#include "tests/kernels/per_target.h"

namespace rs::cpu {

using namespace engine;  // the executor interface this module implements: Batch, Logits, TokenId
namespace {

using model::TensorType;

std::unique_ptr<ModelWeights> synth_weights(const std::string& preset, TensorType type) {
  const std::string path = ::testing::TempDir() + "/executor-" + preset + "-" + std::string(model::info(type).name) + ".gguf";
  if (!std::filesystem::exists(path)) model::synth_model({.preset = preset, .type = type, .seed = 7, .vocab_from = "", .output = path});
  return std::make_unique<ModelWeights>(describe_model(path), io::StreamOptions{.direct = false});
}

// A sequence's KV blocks: consecutive from `first`, or any ids the test picks.
struct Sequence {
  std::vector<TokenId> tokens;
  std::vector<BlockId> blocks;
};

std::vector<BlockId> consecutive_blocks(BlockId first, uint32_t count) {
  std::vector<BlockId> blocks(count);
  std::iota(blocks.begin(), blocks.end(), first);
  return blocks;
}

// Runs `tokens` through `executor` in steps of `chunk`, returning the logits after each step.
std::vector<std::vector<float>> run_chunks(CpuExecutor& executor, const Sequence& s, size_t chunk) {
  std::vector<std::vector<float>> rows;
  Logits logits;
  for (size_t at = 0; at < s.tokens.size(); at += chunk) {
    const size_t n = std::min(chunk, s.tokens.size() - at);
    Batch batch;
    batch.sequences.push_back({std::span(s.tokens).subspan(at, n), uint32_t(at), s.blocks, true});
    executor.step(batch, logits);
    rows.emplace_back(logits.row(0).begin(), logits.row(0).end());
  }
  return rows;
}

using testing::kPrompt;

TEST(CpuExecutor, F32LogitsMatchTheFloat64Reference) {
  const auto weights = synth_weights("tiny", TensorType::f32);
  CpuExecutor executor(*weights, {.threads = 2, .kv_type = TensorType::f32, .kv_blocks = 4});
  const Sequence s{kPrompt, consecutive_blocks(0, 2)};
  const auto reference = testing::reference_logits(*weights, s.tokens);
  // Token by token: every decode step, each reading the cache the steps before wrote.
  const auto stepped = run_chunks(executor, s, 1);
  for (size_t t = 0; t < s.tokens.size(); ++t) {
    EXPECT_LT(testing::relative_error(stepped[t], reference[t]), 1e-4) << "position " << t;
  }
  EXPECT_LT(testing::relative_error(run_chunks(executor, s, s.tokens.size())[0], reference.back()), 1e-4);
}

// Hugging Face's RoPE layout (halves) and tied embeddings, on a synth model
// whose description says so: the reference follows the description too.
TEST(CpuExecutor, HalvesRopeAndTiedEmbeddingsMatchTheReference) {
  const std::string path = ::testing::TempDir() + "/executor-tiny-f32.gguf";
  synth_weights("tiny", TensorType::f32);  // writes it
  model::ModelDesc desc = describe_model(path);
  desc.rope_layout = model::RopeLayout::halves;
  desc.tied_embeddings = true;
  std::erase_if(desc.tensors, [](const model::TensorInfo& t) { return t.name == "output.weight"; });
  const ModelWeights weights(std::move(desc), {.direct = false});
  ASSERT_EQ(weights.output.data, weights.token_embedding.data);
  CpuExecutor executor(weights, {.threads = 2, .kv_type = TensorType::f32, .kv_blocks = 2});
  const Sequence s{kPrompt, consecutive_blocks(0, 2)};
  const auto reference = testing::reference_logits(weights, s.tokens);
  const auto stepped = run_chunks(executor, s, 1);
  for (size_t t = 0; t < s.tokens.size(); ++t) {
    EXPECT_LT(testing::relative_error(stepped[t], reference[t]), 1e-4) << "position " << t;
  }
}

class QuantizedWeights : public ::testing::TestWithParam<TensorType> {};

bool dots_quantized_activations(TensorType t) { return t == TensorType::q8_0 || t == TensorType::q4_0; }

// Against the exact reference: f16/bf16 weights dot f32 activations, so only
// the KV cache's rounding (mirrored by the reference) separates the two. q8_0
// and q4_0 weights dot activations quantized to q8_0, as llama.cpp does; on
// these random weights that rounding alone moves the logits by about 2%.
TEST_P(QuantizedWeights, PrefillLogitsMatchTheExactReference) {
  const auto weights = synth_weights("small", GetParam());
  const double tolerance = dots_quantized_activations(GetParam()) ? 5e-2 : 1e-3;
  for (const TensorType kv : {TensorType::f32, TensorType::f16, TensorType::q8_0}) {
    CpuExecutor executor(*weights, {.threads = 2, .kv_type = kv, .kv_blocks = 2});
    const Sequence s{kPrompt, consecutive_blocks(0, 2)};
    const auto reference = testing::reference_logits(*weights, s.tokens, {.kv = kv});
    const auto prefill = run_chunks(executor, s, s.tokens.size());
    EXPECT_LT(testing::relative_error(prefill[0], reference.back()), tolerance) << model::info(kv).name << " KV";
  }
}

// The integer dot products compute exactly what their definition says, on
// every SIMD target: the reference that rounds activations as ggml does agrees
// to float precision. (One token: over many, a single activation landing the
// other side of a rounding boundary changes later roundings, and the match
// degrades to the rounding noise above.)
TEST_P(QuantizedWeights, OneTokenMatchesTheReferenceRoundingAsGgml) {
  const auto weights = synth_weights("small", GetParam());
  CpuExecutor executor(*weights, {.threads = 2, .kv_type = TensorType::f32, .kv_blocks = 1});
  const Sequence s{{1}, consecutive_blocks(0, 1)};
  const auto reference = testing::reference_logits(*weights, s.tokens, {.activations = true});
  for (const int64_t target : kernels::simd_targets()) {
    const kernels::ForceTarget force(target);
    EXPECT_LT(testing::relative_error(run_chunks(executor, s, 1)[0], reference.back()), 1e-5)
        << hwy::TargetName(target);
  }
}

INSTANTIATE_TEST_SUITE_P(Types, QuantizedWeights,
                         ::testing::Values(TensorType::f16, TensorType::bf16, TensorType::q8_0, TensorType::q4_0),
                         [](const auto& info) { return std::string(model::info(info.param).name); });

// Batched with others, each sequence gets exactly what it gets alone: the
// scheduler relies on it for "same seed, same tokens" under any load.
TEST(CpuExecutor, BatchEqualsEachSequenceAlone) {
  const auto weights = synth_weights("small", TensorType::q8_0);
  CpuExecutor executor(*weights, {.threads = 2, .kv_type = TensorType::f16, .kv_blocks = 12});
  const std::vector<Sequence> sequences = {
      {kPrompt, consecutive_blocks(0, 2)},
      {{1, 5, 9}, consecutive_blocks(2, 1)},
      {std::vector<TokenId>(40, 17), consecutive_blocks(3, 3)},
  };
  std::vector<std::vector<float>> alone;
  for (const Sequence& s : sequences) alone.push_back(run_chunks(executor, s, s.tokens.size())[0]);

  Batch batch;
  for (const Sequence& s : sequences) batch.sequences.push_back({s.tokens, 0, s.blocks, true});
  const std::vector<BlockId> silent_blocks = consecutive_blocks(6, 1);  // a prompt chunk wanting no logits
  batch.sequences.push_back({std::span(kPrompt).first(4), 0, silent_blocks, false});
  Logits logits;
  executor.step(batch, logits);
  ASSERT_EQ(logits.rows(), sequences.size());
  for (size_t i = 0; i < sequences.size(); ++i) {
    EXPECT_EQ(std::vector<float>(logits.row(i).begin(), logits.row(i).end()), alone[i]) << "batched prefill " << i;
  }

  // One decode token each, batched, after the prefills above.
  Batch decode;
  const std::vector<TokenId> next = {42};
  for (const Sequence& s : sequences) decode.sequences.push_back({next, uint32_t(s.tokens.size()), s.blocks, true});
  executor.step(decode, logits);
  for (size_t i = 0; i < sequences.size(); ++i) {
    Sequence extended = sequences[i];
    extended.tokens.push_back(42);
    const auto expected = run_chunks(executor, extended, extended.tokens.size())[0];
    EXPECT_EQ(std::vector<float>(logits.row(i).begin(), logits.row(i).end()), expected) << "batched decode " << i;
  }
}

// Attention through a scattered block table equals attention over consecutive blocks.
TEST(CpuExecutor, PagedEqualsContiguousAndChunkedEqualsWhole) {
  const auto weights = synth_weights("small", TensorType::q4_0);
  CpuExecutor executor(*weights, {.threads = 2, .kv_type = TensorType::f16, .kv_blocks = 16, .block_tokens = 4});
  std::vector<TokenId> prompt;
  for (int i = 0; i < 30; ++i) prompt.push_back(TokenId((i * 37 + 11) % 260));
  const auto whole = run_chunks(executor, {prompt, consecutive_blocks(0, 8)}, prompt.size())[0];
  const auto scattered = run_chunks(executor, {prompt, {15, 3, 9, 0, 12, 6, 1, 10}}, prompt.size())[0];
  EXPECT_EQ(scattered, whole);
  const auto chunked = run_chunks(executor, {prompt, {7, 2, 14, 5, 11, 4, 13, 8}}, 7).back();
  EXPECT_EQ(chunked, whole) << "chunked prefill";
}

TEST(CpuExecutor, RejectsWhatItCannotRun) {
  const auto weights = synth_weights("tiny", TensorType::f32);
  EXPECT_THROW(CpuExecutor(*weights, {.kv_type = TensorType::q8_0, .kv_blocks = 1}), std::invalid_argument);
  CpuExecutor executor(*weights, {.threads = 1, .kv_type = TensorType::f16, .kv_blocks = 2});
  Logits logits;
  const std::vector<TokenId> tokens(20, 1);
  const std::vector<BlockId> one_block = {0};
  Batch too_long;
  too_long.sequences.push_back({tokens, 0, one_block, true});
  EXPECT_THROW(executor.step(too_long, logits), std::invalid_argument);
  const std::vector<TokenId> bad_id = {100000};
  Batch bad;
  bad.sequences.push_back({bad_id, 0, one_block, true});
  EXPECT_THROW(executor.step(bad, logits), std::invalid_argument);
  const std::vector<BlockId> outside = {5};
  Batch bad_block;
  bad_block.sequences.push_back({std::span(tokens).first(1), 0, outside, true});
  EXPECT_THROW(executor.step(bad_block, logits), std::invalid_argument);
}

// tests/data/llama_cpp_reference.json: llama.cpp's greedy continuation of a real trained model.
TEST(CpuExecutor, Stories260KGreedyMatchesLlamaCpp) {
  const std::string path = RINGSERVE_SOURCE_DIR "/../shared/models/stories260K.gguf";
  if (!std::filesystem::exists(path)) RS_SKIP_UNLESS_CI(path + " is absent");
  const testing::GreedyReference reference = testing::llama_cpp_greedy("stories260K.gguf");
  const ModelWeights weights(describe_model(path), {.direct = false});
  CpuExecutor executor(weights, {.threads = 2, .kv_type = TensorType::f16, .kv_blocks = 8});
  EXPECT_EQ(testing::greedy_continuation(executor, reference.prompt, consecutive_blocks(0, 8),
                                         reference.continuation.size()),
            reference.continuation);
}

}  // namespace
}  // namespace rs::cpu

namespace rs::cpu {
namespace {

TEST(KvBlocks, WrittenBytesReadBackAndTheSizeIsChecked) {
  const std::string path = ::testing::TempDir() + "/kv-blocks-" + std::to_string(getpid()) + ".gguf";
  model::SynthOptions options;
  options.output = path;
  model::synth_model(options);
  ModelWeights weights(describe_model(path), io::StreamOptions{.direct = false});
  std::filesystem::remove(path);
  CpuExecutor executor(weights, {.threads = 1, .kv_blocks = 4, .block_tokens = 16});
  const size_t bytes = executor.kv_layout().block_bytes();
  std::vector<std::byte> written(bytes), read(bytes);
  for (size_t i = 0; i < bytes; ++i) written[i] = std::byte(i * 7 + 3);
  executor.write_kv_block(2, written);
  executor.read_kv_block(2, read);
  EXPECT_EQ(read, written);
  EXPECT_THROW(executor.write_kv_block(4, written), std::invalid_argument);
  EXPECT_THROW(executor.read_kv_block(1, std::span(read).first(bytes - 1)), std::invalid_argument);
}

TEST(KvBlocks, PreparingBlocksForWritesLeavesWhatTheyHold) {
  const std::string path = ::testing::TempDir() + "/kv-prepare-" + std::to_string(getpid()) + ".gguf";
  model::SynthOptions options;
  options.output = path;
  model::synth_model(options);
  ModelWeights weights(describe_model(path), io::StreamOptions{.direct = false});
  std::filesystem::remove(path);
  CpuExecutor executor(weights, {.threads = 1, .kv_blocks = 256, .block_tokens = 16});  // many pages
  const size_t bytes = executor.kv_layout().block_bytes();
  std::vector<std::byte> written(bytes), read(bytes);
  for (size_t i = 0; i < bytes; ++i) written[i] = std::byte(i * 5 + 1);
  executor.write_kv_block(7, written);
  const std::vector<kv::BlockId> blocks = {9, 8, 7, 6, 0, 255, 100};  // out of order, adjacent and apart
  std::jthread other([&] { executor.prepare_kv_writes(blocks); });  // meant for another thread
  other.join();
  executor.read_kv_block(7, read);
  EXPECT_EQ(read, written);
  for (size_t i = 0; i < bytes; ++i) written[i] = std::byte(i * 3 + 2);
  executor.write_kv_block(255, written);
  executor.read_kv_block(255, read);
  EXPECT_EQ(read, written);
  EXPECT_THROW(executor.prepare_kv_writes(std::vector<kv::BlockId>{256}), std::invalid_argument);
}

// What prepare_kv_writes and ModelEngine fault in: the pages of the range, rounded out to whole pages within the
// memory, end up resident, and populating keeps what they held.
TEST(KvBlocks, PopulatingOrTouchingForWritesMakesTheRangesPagesResident) {
  const size_t page = size_t(sysconf(_SC_PAGESIZE));
  std::unique_ptr<std::byte[]> memory = make_kv_memory(64 * page);
  const std::span<std::byte> pool(memory.get(), 64 * page);
  const auto aligned = reinterpret_cast<std::byte*>((uintptr_t(memory.get()) + page - 1) / page * page);
  const size_t offset = size_t(aligned - memory.get());  // of the first whole page
  for (size_t i = 0; i < 8; ++i) aligned[5 * page + i] = std::byte(i + 1);
  populate_for_writes(pool, offset + 3 * page + 10, offset + 9 * page + 1);  // pages 3 to 9, partly
  std::vector<unsigned char> resident(12);
  ASSERT_EQ(mincore(aligned, 12 * page, resident.data()), 0);
  for (size_t p = 3; p <= 9; ++p) EXPECT_TRUE(resident[p] & 1) << "page " << p;
  for (size_t i = 0; i < 8; ++i) EXPECT_EQ(aligned[5 * page + i], std::byte(i + 1));
  populate_for_writes(pool, 0, 0);  // nothing, and nothing outside the memory
  populate_for_writes(pool, 0, pool.size());
  touch_for_writes(pool.subspan(offset + 20 * page, 8 * page));
  ASSERT_EQ(mincore(aligned + 20 * page, 8 * page, resident.data()), 0);
  for (size_t p = 0; p < 8; ++p) EXPECT_TRUE(resident[p] & 1) << "page " << 20 + p;
}

}  // namespace
}  // namespace rs::cpu
