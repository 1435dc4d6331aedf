// The CUDA executor against the CPU executor (the reference) and the float64
// reference model: whole-model logits, greedy tokens on a real trained model,
// batched against alone, graphs against eager launches. Skipped where no CUDA
// device is visible.
#include "gpu/cuda_executor.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <numeric>

#include "core/cpu/cpu_executor.h"
#include "core/engine/scheduler.h"
#include "core/model/synth.h"
#include "tests/support/ci.h"
#include "tests/cpu/greedy_reference.h"
#include "tests/cpu/reference_model.h"
#include "tests/gpu/device_copy.h"

namespace rs::gpu {
namespace {

using engine::Batch;
using engine::BlockId;
using engine::Logits;
using engine::TokenId;
using model::TensorType;

class CudaExecutorTest : public ::testing::Test {
 protected:
  void SetUp() override { RS_SKIP_WITHOUT_CUDA_DEVICE(); }
};

std::string synth_file(const std::string& preset, TensorType type) {
  const std::string path =
      ::testing::TempDir() + "/cuda-executor-" + preset + "-" + std::string(model::info(type).name) + ".gguf";
  if (!std::filesystem::exists(path)) {
    model::synth_model({.preset = preset, .type = type, .seed = 7, .vocab_from = "", .output = path});
  }
  return path;
}

// The same file on the host (for the CPU executor and the reference) and on the device.
struct BothWeights {
  explicit BothWeights(const std::string& path)
      : host(cpu::describe_model(path), {.direct = false}), device(cpu::describe_model(path), 0, {.direct = false}) {}
  cpu::ModelWeights host;
  DeviceWeights device;
};

std::vector<BlockId> consecutive_blocks(BlockId first, uint32_t count) {
  std::vector<BlockId> blocks(count);
  std::iota(blocks.begin(), blocks.end(), first);
  return blocks;
}

// Runs `tokens` through `executor` in steps of `chunk` tokens; the logits after each step.
std::vector<std::vector<float>> run_chunks(engine::Executor& executor, std::span<const TokenId> tokens,
                                           std::span<const BlockId> blocks, size_t chunk) {
  std::vector<std::vector<float>> rows;
  Logits logits;
  for (size_t at = 0; at < tokens.size(); at += chunk) {
    Batch batch;
    batch.sequences.push_back({tokens.subspan(at, std::min(chunk, tokens.size() - at)), uint32_t(at), blocks, true});
    executor.step(batch, logits);
    rows.emplace_back(logits.row(0).begin(), logits.row(0).end());
  }
  return rows;
}

double relative_error(std::span<const float> a, std::span<const float> b) {
  const std::vector<double> wide(b.begin(), b.end());
  return cpu::testing::relative_error(a, wide);
}

using cpu::testing::kPrompt;

// A pool of `blocks` blocks of 16 positions; a context as long as the whole pool.
CudaExecutorOptions small_options(TensorType kv, uint32_t blocks, bool graphs = true) {
  return {.kv_type = kv, .kv_blocks = blocks, .block_tokens = 16, .max_batch_tokens = 512, .max_seqs = 8,
          .ctx_size = blocks * 16, .graphs = graphs};
}

// f32 and f16 weights with f32 activations: the same products as the CPU's, so
// its logits agree to float rounding, step by step and in one prefill.
TEST_F(CudaExecutorTest, FloatWeightsMatchTheCpuExecutor) {
  for (const TensorType type : {TensorType::f32, TensorType::f16, TensorType::bf16}) {
    const BothWeights w(synth_file("small", type));
    cpu::CpuExecutor cpu(w.host, {.threads = 2, .kv_type = TensorType::f32, .kv_blocks = 2});
    CudaExecutor gpu(w.device, small_options(TensorType::f32, 2));
    const std::vector<BlockId> blocks = consecutive_blocks(0, 2);
    const auto want = run_chunks(cpu, kPrompt, blocks, 1);
    const auto got = run_chunks(gpu, kPrompt, blocks, 1);
    for (size_t t = 0; t < want.size(); ++t) {
      EXPECT_LT(relative_error(got[t], want[t]), 1e-5) << model::info(type).name << " position " << t;
    }
    EXPECT_LT(relative_error(run_chunks(gpu, kPrompt, blocks, kPrompt.size())[0], want.back()), 1e-5);
  }
}

// q8_0, q4_0 and the k-quants: the GPU dots f32 activations (the CPU rounds
// them to 8 bits as ggml does), so the float64 reference is the comparison.
TEST_F(CudaExecutorTest, QuantizedWeightsMatchTheExactReference) {
  for (const TensorType type : {TensorType::q8_0, TensorType::q4_0}) {
    const BothWeights w(synth_file("small", type));
    const auto reference = cpu::testing::reference_logits(w.host, kPrompt, {.kv = TensorType::f16});
    CudaExecutor gpu(w.device, small_options(TensorType::f16, 2));
    const auto got = run_chunks(gpu, kPrompt, consecutive_blocks(0, 2), 5);
    EXPECT_LT(cpu::testing::relative_error(got.back(), reference.back()), 1e-3) << model::info(type).name;
  }
}

// A prompt longer than matvec's 64-token bucket in one step: the prefill path.
TEST_F(CudaExecutorTest, LongPrefillMatchesStepByStep) {
  const BothWeights w(synth_file("small", TensorType::f16));
  std::vector<TokenId> prompt(200);
  for (size_t i = 0; i < prompt.size(); ++i) prompt[i] = TokenId((i * 7919 + 13) % w.device.output.rows);
  CudaExecutor gpu(w.device, small_options(TensorType::f32, 13));
  const std::vector<BlockId> blocks = consecutive_blocks(0, 13);
  const auto stepped = run_chunks(gpu, prompt, blocks, 1);
  const auto whole = run_chunks(gpu, prompt, blocks, prompt.size());
  const auto chunked = run_chunks(gpu, prompt, blocks, 77);
  // Past 64 tokens the products round activations to f16 for cuBLAS: the half-precision bound.
  EXPECT_LT(relative_error(whole[0], stepped.back()), 1e-2);
  EXPECT_LT(relative_error(chunked.back(), stepped.back()), 1e-2);
}

// Each sequence gets what it gets alone, whatever shares its batch, with and
// without graphs; and a graph replay computes what the eager launches compute.
TEST_F(CudaExecutorTest, BatchedAndGraphedStepsEqualEagerAlone) {
  const BothWeights w(synth_file("small", TensorType::q4_0));
  CudaExecutor graphed(w.device, small_options(TensorType::f16, 12, true));
  CudaExecutor eager(w.device, small_options(TensorType::f16, 12, false));
  const std::vector<std::vector<TokenId>> prompts = {{1, 2, 3, 4, 5}, {9, 8, 7}, {1, 30, 31, 32, 33, 34, 35}};
  std::vector<std::vector<BlockId>> blocks = {{4, 0}, {7, 1}, {2, 9}};

  // Alone and eager: each prompt in one step, then 6 decode steps feeding token 11 + step.
  std::vector<std::vector<std::vector<float>>> alone(prompts.size());
  for (size_t s = 0; s < prompts.size(); ++s) {
    std::vector<TokenId> tokens = prompts[s];
    for (int step = 0; step < 6; ++step) tokens.push_back(TokenId(11 + step));
    run_chunks(eager, std::span(tokens).first(prompts[s].size()), blocks[s], prompts[s].size());
    Logits logits;
    for (size_t at = prompts[s].size(); at < tokens.size(); ++at) {
      Batch batch;
      batch.sequences.push_back({std::span(tokens).subspan(at, 1), uint32_t(at), blocks[s], true});
      eager.step(batch, logits);
      alone[s].emplace_back(logits.row(0).begin(), logits.row(0).end());
    }
  }
  // Together: the three prompts in one step, then decode steps of all three (a bucket of 4, padded).
  std::vector<std::vector<TokenId>> tokens = prompts;
  for (auto& t : tokens) {
    for (int step = 0; step < 6; ++step) t.push_back(TokenId(11 + step));
  }
  Logits logits;
  Batch prefill;
  for (size_t s = 0; s < prompts.size(); ++s) {
    prefill.sequences.push_back({std::span(tokens[s]).first(prompts[s].size()), 0, blocks[s], true});
  }
  graphed.step(prefill, logits);
  for (int step = 0; step < 6; ++step) {
    Batch batch;
    for (size_t s = 0; s < prompts.size(); ++s) {
      const size_t at = prompts[s].size() + step;
      batch.sequences.push_back({std::span(tokens[s]).subspan(at, 1), uint32_t(at), blocks[s], true});
    }
    graphed.step(batch, logits);
    ASSERT_EQ(logits.rows(), prompts.size());
    for (size_t s = 0; s < prompts.size(); ++s) {
      EXPECT_LT(relative_error(logits.row(s), alone[s][step]), 1e-6) << "sequence " << s << " step " << step;
    }
  }
  EXPECT_EQ(graphed.graphs_captured(), 1u);  // one bucket (4), captured once, replayed since
  EXPECT_EQ(eager.graphs_captured(), 0u);
}

TEST_F(CudaExecutorTest, RejectsWhatItCannotRun) {
  const BothWeights w(synth_file("tiny", TensorType::f32));
  EXPECT_THROW(CudaExecutor(w.device, small_options(TensorType::q8_0, 2)), std::invalid_argument);
  CudaExecutorOptions one_block = small_options(TensorType::f16, 1);
  one_block.ctx_size = 512;  // a context of 32 blocks
  EXPECT_THROW(CudaExecutor(w.device, one_block), std::invalid_argument);
  CudaExecutor gpu(w.device, small_options(TensorType::f16, 32));
  Logits logits;
  const std::vector<TokenId> outside_vocab = {TokenId(w.device.output.rows)};
  const std::vector<BlockId> blocks = {0}, outside_pool = {32};
  Batch bad_token, bad_block;
  bad_token.sequences.push_back({outside_vocab, 0, blocks, true});
  bad_block.sequences.push_back({std::span(kPrompt).first(1), 0, outside_pool, true});
  EXPECT_THROW(gpu.step(bad_token, logits), std::invalid_argument);
  EXPECT_THROW(gpu.step(bad_block, logits), std::invalid_argument);
  // Still serves after refusing.
  EXPECT_EQ(run_chunks(gpu, std::span(kPrompt).first(3), blocks, 3).size(), 1u);
}

// Greedy tokens of each request, run on a fresh scheduler over `gpu` one after another (prefix cache on).
std::vector<std::vector<TokenId>> greedy_one_by_one(CudaExecutor& gpu, std::vector<std::vector<TokenId>> prompts,
                                                    std::vector<uint32_t>* cached_tokens = nullptr) {
  engine::Scheduler scheduler(gpu, {.max_batch_tokens = 512, .max_seqs = 8, .ctx_size = 256}, {}, {true, 0x5eed});
  std::vector<std::vector<TokenId>> out;
  for (size_t i = 0; i < prompts.size(); ++i) {
    engine::GenerationRequest r;
    r.id = i + 1;
    r.prompt = prompts[i];
    r.max_tokens = 8;
    r.sampling.temperature = 0;
    r.sampling.ignore_eos = true;
    scheduler.add(r);
    out.emplace_back();
    engine::StepReport report;
    while (!scheduler.idle()) {
      scheduler.step(report);
      for (const engine::TokenEvent& e : report.events) {
        if (out.back().empty() && cached_tokens) cached_tokens->push_back(e.cached_tokens);
        out.back().push_back(e.token);
      }
    }
  }
  return out;
}

// The prefix cache on the device: a hit reads blocks another request computed, and gives what a cold run gives.
TEST_F(CudaExecutorTest, APrefixCacheHitGivesWhatAColdRunGives) {
  const BothWeights w(synth_file("small", TensorType::q4_0));
  std::vector<TokenId> first, second;
  for (TokenId t = 0; t < 40; ++t) first.push_back(TokenId(t * 3 % 200 + 1));
  second.assign(first.begin(), first.begin() + 32);  // two whole 16-token blocks shared
  for (TokenId t = 0; t < 9; ++t) second.push_back(TokenId(t * 5 % 200 + 2));
  CudaExecutor warm(w.device, small_options(TensorType::f16, 16, false));
  std::vector<uint32_t> cached;
  const auto together = greedy_one_by_one(warm, {first, second}, &cached);
  EXPECT_EQ(cached, (std::vector<uint32_t>{0, 32}));
  CudaExecutor cold(w.device, small_options(TensorType::f16, 16, false));
  EXPECT_EQ(together[1], greedy_one_by_one(cold, {second})[0]);
}

TEST_F(CudaExecutorTest, KvBlocksReadBackWhatWasWritten) {
  const BothWeights w(synth_file("tiny", TensorType::f32));
  CudaExecutor gpu(w.device, small_options(TensorType::f16, 4));
  const size_t bytes = gpu.kv_layout().block_bytes();
  std::vector<std::byte> written(bytes), read(bytes);
  for (size_t i = 0; i < bytes; ++i) written[i] = std::byte(i * 13 + 1);
  gpu.write_kv_block(3, written);
  gpu.read_kv_block(3, read);
  EXPECT_EQ(read, written);
  EXPECT_THROW(gpu.read_kv_block(4, read), std::invalid_argument);
}

// tests/data/llama_cpp_reference.json: llama.cpp's greedy continuation of a
// real trained model (f32 weights), which the CPU executor also reproduces.
TEST_F(CudaExecutorTest, Stories260KGreedyMatchesLlamaCpp) {
  const std::string path = RINGSERVE_SOURCE_DIR "/../shared/models/stories260K.gguf";
  if (!std::filesystem::exists(path)) RS_SKIP_UNLESS_CI(path + " is absent");
  const cpu::testing::GreedyReference reference = cpu::testing::llama_cpp_greedy("stories260K.gguf");
  const DeviceWeights weights(cpu::describe_model(path), 0, {.direct = false});
  CudaExecutor executor(weights, small_options(TensorType::f16, 8));
  EXPECT_EQ(cpu::testing::greedy_continuation(executor, reference.prompt, consecutive_blocks(0, 8),
                                                 reference.continuation.size()),
            reference.continuation);
}

}  // namespace
}  // namespace rs::gpu
