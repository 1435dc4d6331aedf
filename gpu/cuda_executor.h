#pragma once
// The CUDA stream executor: the CPU executor's forward pass (the reference,
// core/cpu/cpu_executor.h) on one device. Every launch of a step is queued
// on one stream and the host waits once, for the logits; decode steps are
// captured once per batch-size bucket as CUDA graphs and replayed, so a step
// costs one launch instead of one per kernel.
#include <cstdint>
#include <map>
#include <memory>

#include "core/engine/executor.h"
#include "gpu/device_weights.h"

struct CUstream_st;
struct CUgraphExec_st;

namespace rs::gpu {

class Gemm;

struct CudaExecutorOptions {
  model::TensorType kv_type = model::TensorType::f16;  // f16 or f32
  uint32_t kv_blocks = 0;        // 0: as many as fit in memory_fraction
  uint32_t block_tokens = 16;
  // The scheduler's limits: they size the step's buffers, made once.
  uint32_t max_batch_tokens = 2048;
  uint32_t max_seqs = 64;
  uint32_t ctx_size = 4096;
  double memory_fraction = 0.9;  // of the device's memory, for weights, activations and the KV pool together
  bool graphs = true;            // replay decode steps as CUDA graphs (false: launch every kernel, for tests)
};

class CudaExecutor final : public engine::Executor {
 public:
  // Sizes and allocates everything a step needs. Throws std::invalid_argument
  // for options the model or device cannot run with (naming the option), and
  // std::runtime_error for CUDA failures.
  CudaExecutor(const DeviceWeights& weights, const CudaExecutorOptions& options);
  ~CudaExecutor() override;
  CudaExecutor(const CudaExecutor&) = delete;
  CudaExecutor& operator=(const CudaExecutor&) = delete;

  void step(const engine::Batch& batch, engine::Logits& logits) override;
  const kv::KvLayout& kv_layout() const override { return kv_; }
  void read_kv_block(kv::BlockId block, std::span<std::byte> out) const override;
  void write_kv_block(kv::BlockId block, std::span<const std::byte> bytes) override;

  // Device memory the step's buffers and the KV pool hold.
  uint64_t device_bytes() const;
  size_t graphs_captured() const { return graphs_.size(); }

 private:
  struct Buffers;
  // What stage() wrote into the pinned inputs.
  struct Staged {
    size_t tokens = 0;
    size_t logit_rows = 0;
    size_t sequences = 0;
    size_t longest_run = 0;    // 1: a decode step
    size_t replay_bucket = 0;  // non-zero: a decode step a graph of this many sequences replays
  };
  Staged stage(const engine::Batch& batch);
  CUgraphExec_st* capture(size_t bucket);
  // Queues the whole forward pass of a staged step.
  void forward(const Staged& staged);
  void layer(uint32_t index, const Staged& staged);
  void multiply(const DeviceMatrix& w, const float* x, size_t tokens, float* y);
  // The bucket a decode step of `sequences` sequences is padded to.
  size_t bucket(size_t sequences) const;

  const DeviceWeights& weights_;
  const model::ModelDesc& desc_;
  CudaExecutorOptions options_;
  kv::KvLayout kv_;
  uint32_t max_blocks_ = 0;  // block-table entries per token: a whole ctx_size context
  size_t max_tokens_ = 0;    // tokens one step may carry
  size_t max_rows_ = 0;      // sequences (and so logits rows) in one step
  CUstream_st* stream_ = nullptr;
  std::unique_ptr<Buffers> buffers_;
  std::unique_ptr<Gemm> gemm_;  // prefill's products: more tokens than matvec's largest bucket
  std::map<size_t, CUgraphExec_st*> graphs_;  // by bucket
};

}  // namespace rs::gpu
