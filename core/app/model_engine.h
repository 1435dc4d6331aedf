#pragma once
// A model loaded for generation: its tokenizer, the executor for the device
// --device names (host weights and the CPU executor, or the weights streamed
// to CUDA device 0 and the CUDA executor) with its KV pool, and the engine
// thread over them, which ends sequences on the model's end-of-generation
// tokens. `serve` and `run` both load here: one executor factory, one engine.
// It logs nothing of its own: what to say about the load is the command's to decide.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "core/app/demo_model.h"
#include "core/app/device_choice.h"
#include "core/cpu/cpu_executor.h"
#include "core/engine/engine.h"
#include "core/tokenizer/tokenizer.h"
#include "gpu/cuda_model.h"

namespace rs {

struct ModelEngineOptions {
  std::string model;  // "" : the built-in demo model
  Device device = Device::automatic;
  unsigned threads = 0;              // CPU compute threads; 0: every core
  int compute_nice = 0;              // their niceness above the process's (cpu::ThreadPool)
  double gpu_memory_fraction = 0.9;  // of the CUDA device's memory: weights, activations and the KV pool
  std::string kv_type = "f16";
  uint32_t ctx_size = 4096;  // capped at the model's trained context
  // 0: on the CPU, room for max_seqs full contexts, at most a quarter of memory; on CUDA, all that fits.
  double kv_cache_gib = 0;
  // On CUDA too, without kv_cache_gib: room for max_seqs full contexts, not all the memory left (run's one sequence).
  bool kv_for_max_seqs_only = false;
  uint32_t block_tokens = 16;
  bool prefix_caching = true;  // full blocks of earlier prompts are shared by later ones that start alike
  // On the CPU, the first blocks of the KV pool (a fresh pool hands out block 0 first) faulted in while the weights
  // stream: those a prefix-cache snapshot fills at start, whose own stream would otherwise wait on the faults.
  uint32_t kv_blocks_prepared = 0;
  engine::SchedulerLimits limits;  // its ctx_size is set from ctx_size
};

class ModelEngine {
 public:
  // Loads the model and starts the engine; throws std::exception naming the file or option at fault.
  explicit ModelEngine(const ModelEngineOptions& options);
  ModelEngine(const ModelEngine&) = delete;
  ModelEngine& operator=(const ModelEngine&) = delete;

  const tokenizer::Tokenizer& tokenizer() const { return *tokenizer_; }
  engine::Engine& engine() { return *engine_; }
  const kv::KvLayout& kv_layout() const { return executor_->kv_layout(); }
  uint32_t ctx_size() const { return ctx_size_; }  // per sequence, after the cap
  uint64_t model_identity() const { return model_identity_; }  // model::model_identity of the weights
  uint64_t kv_salt() const { return kv_salt_; }    // kv::chain_salt of these weights, KV type and block size
  const gpu::CudaModel* cuda() const { return cuda_.get(); }  // null on the CPU
  const cpu::ModelWeights* host_weights() const { return weights_.get(); }  // null on a GPU

 private:
  void load_executor(model::ModelDesc desc, const ModelEngineOptions& options);

  std::optional<DemoModelFile> demo_;
  std::unique_ptr<tokenizer::Tokenizer> tokenizer_;
  uint32_t ctx_size_ = 0;
  uint64_t model_identity_ = 0;
  uint64_t kv_salt_ = 0;
  // On the CPU: the weights in host memory and the CPU executor. On a GPU: both in cuda_.
  std::unique_ptr<cpu::ModelWeights> weights_;
  std::unique_ptr<cpu::CpuExecutor> cpu_executor_;
  std::unique_ptr<gpu::CudaModel> cuda_;
  engine::Executor* executor_ = nullptr;
  std::unique_ptr<engine::Engine> engine_;
};

}  // namespace rs
