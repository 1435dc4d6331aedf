#pragma once
// The model `serve` serves: its weights, tokenizer and chat template, the
// executor with its KV cache (the CPU's, or the CUDA executor's with the
// weights streamed to the device), and the engine thread, built in that order
// and warmed up with one real step before anything is served.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "core/api/serving_model.h"
#include "core/app/demo_model.h"
#include "core/app/device_choice.h"
#include "core/cpu/cpu_executor.h"
#include "core/engine/engine.h"
#include "gpu/cuda_model.h"

namespace rs {

struct ModelServiceOptions {
  std::string model;          // "" : the built-in demo model
  std::string model_name;     // "" : the file's name
  std::string chat_template;  // "" : the model's own
  Device device = Device::automatic;
  unsigned threads = 0;       // CPU compute threads; 0: every core
  double gpu_memory_fraction = 0.9;  // of the CUDA device's memory: weights, activations and the KV pool
  std::string kv_type = "f16";
  uint32_t ctx_size = 4096;   // capped at the model's trained context
  double kv_cache_gib = 0;    // 0: CPU: room for max_seqs full contexts, at most a quarter of memory; CUDA: all that fits
  uint32_t block_tokens = 16;
  engine::SchedulerLimits limits;
};

inline constexpr std::string_view kDemoModelId = "ringserve-demo-random-weights";

class ModelService {
 public:
  // Loads and warms up; throws std::exception naming the file or option at fault.
  explicit ModelService(ModelServiceOptions options);
  ~ModelService();

  const api::ServingModel& serving() const { return serving_; }
  engine::Engine& engine() { return *engine_; }
  const kv::KvLayout& kv_layout() const { return executor_->kv_layout(); }

 private:
  std::optional<DemoModelFile> demo_;
  std::unique_ptr<tokenizer::Tokenizer> tokenizer_;
  // On the CPU: the weights in host memory and the CPU executor. On a GPU: both in cuda_.
  std::unique_ptr<cpu::ModelWeights> weights_;
  std::unique_ptr<cpu::CpuExecutor> cpu_executor_;
  std::unique_ptr<gpu::CudaModel> cuda_;
  engine::Executor* executor_ = nullptr;
  std::unique_ptr<engine::Engine> engine_;
  api::ServingModel serving_;
  std::thread huge_pages_;  // moves the weights to huge pages while the engine already serves
};

}  // namespace rs
