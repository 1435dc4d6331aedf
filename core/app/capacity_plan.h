#pragma once
// `ringserve plan`'s arithmetic, from a model's description alone: weight
// bytes, KV bytes per token, how many tokens and full-context sequences the KV
// pool holds on a device of a given memory (by the rules `serve` sizes its
// pool with), and the per-instance concurrency Cloud Run should be given.
#include <cstdint>
#include <optional>
#include <string>

#include "core/kv/kv_layout.h"
#include "core/model/model_desc.h"

namespace rs {

struct PlanOptions {
  bool cuda = true;                   // false: the CPU's rule
  double memory_bytes = 0;            // the GPU's memory on CUDA, host memory on the CPU
  double gpu_memory_fraction = 0.9;   // serve's --gpu-memory-fraction
  uint32_t ctx_size = 4096;           // capped at the model's trained context, as serve does
  model::TensorType kv_type = model::TensorType::f16;
  uint32_t max_seqs = 64;
  uint32_t max_batch_tokens = 2048;
  uint32_t block_tokens = 16;
};

// Google's rule for a Cloud Run service's concurrency: instances × parallel queries + instances × ideal batch
// size. For ringserve one model instance runs per GPU (per Cloud Run instance); parallel queries are the
// full-context sequences the KV pool holds, at most max_seqs; the ideal batch size is max_seqs unless measured.
struct Concurrency {
  uint32_t model_instances = 1;
  uint64_t parallel_queries = 0;
  uint64_t ideal_batch_size = 0;
  std::string batch_source;  // where ideal_batch_size came from, in words

  uint64_t max_concurrency() const { return model_instances * (parallel_queries + ideal_batch_size); }
};

struct CapacityPlan {
  uint64_t weight_bytes = 0;          // every tensor of the model, as stored
  uint64_t workspace_bytes = 0;       // CUDA: step activations, GEMM scratch and the reserve; CPU: 0
  uint32_t ctx_size = 0;              // after the cap
  uint64_t kv_bytes_per_token = 0;    // every layer's keys and values of one position
  uint64_t kv_blocks = 0;
  uint64_t kv_pool_bytes = 0;
  uint64_t kv_tokens = 0;
  uint64_t full_context_sequences = 0;  // kv_tokens ÷ ctx_size, in whole blocks per sequence
  Concurrency concurrency;
};

// The sum of the model's tensor bytes: what loading it puts in memory.
uint64_t weight_bytes(const model::ModelDesc& desc);

// Host memory, as serve's CPU rule reads it.
double physical_memory_bytes();

// The CPU's rule, serve's default: room for max_seqs full contexts, at most a quarter of `memory_bytes`.
double cpu_kv_blocks(const kv::KvLayout& layout, uint32_t ctx_size, uint32_t max_seqs, double memory_bytes);

// Throws std::invalid_argument naming the flag when the options cannot hold one full context.
CapacityPlan plan_capacity(const model::ModelDesc& desc, const PlanOptions& options);

}  // namespace rs
