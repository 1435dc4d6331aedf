#include "core/app/capacity_plan.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "gpu/step_memory.h"

namespace rs {

uint64_t weight_bytes(const model::ModelDesc& desc) {
  uint64_t sum = 0;
  for (const model::TensorInfo& t : desc.tensors) sum += t.bytes;
  return sum;
}

double physical_memory_bytes() { return double(sysconf(_SC_PHYS_PAGES)) * double(sysconf(_SC_PAGE_SIZE)); }

double cpu_kv_blocks(const kv::KvLayout& layout, uint32_t ctx_size, uint32_t max_seqs, double memory_bytes) {
  const double block_bytes = double(layout.block_bytes());
  return std::min(double(layout.blocks_for(ctx_size)) * max_seqs, memory_bytes / 4 / block_bytes);
}

CapacityPlan plan_capacity(const model::ModelDesc& desc, const PlanOptions& o) {
  if (o.cuda && o.kv_type != model::TensorType::f16 && o.kv_type != model::TensorType::f32) {
    throw std::invalid_argument(
        fmt::format("--kv-type {}: the CUDA executor stores the KV cache as f16 or f32", model::info(o.kv_type).name));
  }
  CapacityPlan plan;
  plan.ctx_size = desc.context_length ? std::min(o.ctx_size, desc.context_length) : o.ctx_size;
  const kv::KvLayout layout{desc.n_layers, desc.n_kv_heads, desc.head_dim, o.block_tokens, o.kv_type, 0};
  const uint64_t block_bytes = layout.block_bytes();
  plan.kv_bytes_per_token = block_bytes / o.block_tokens;
  plan.weight_bytes = weight_bytes(desc);
  double blocks = 0;
  if (o.cuda) {
    // The CUDA executor's rule: the fraction of the device, less what is already there, less the reserve, less
    // the one block graph-replayed padding writes to.
    plan.workspace_bytes =
        gpu::step_device_bytes(desc, o.max_batch_tokens, o.max_seqs) + uint64_t(gpu::kKvPoolReserveBytes);
    const double left = o.gpu_memory_fraction * o.memory_bytes - double(plan.weight_bytes + plan.workspace_bytes);
    blocks = std::max(0.0, std::floor(std::max(0.0, left) / double(block_bytes)) - 1);
  } else {
    blocks = std::floor(cpu_kv_blocks(layout, plan.ctx_size, o.max_seqs, o.memory_bytes));
  }
  const uint32_t per_sequence = layout.blocks_for(plan.ctx_size);
  if (blocks < per_sequence) {
    throw std::invalid_argument(fmt::format(
        "the KV pool holds {:.0f} blocks of {} tokens, less than one {}-token context: {}", blocks, o.block_tokens,
        plan.ctx_size,
        o.cuda ? "raise --gpu-memory or --gpu-memory-fraction, lower --ctx-size or use a smaller model"
               : "raise --memory or lower --ctx-size"));
  }
  plan.kv_blocks = uint64_t(blocks);
  plan.kv_pool_bytes = plan.kv_blocks * block_bytes;
  plan.kv_tokens = plan.kv_blocks * o.block_tokens;
  plan.full_context_sequences = plan.kv_blocks / per_sequence;
  plan.concurrency.parallel_queries = std::min<uint64_t>(plan.full_context_sequences, o.max_seqs);
  plan.concurrency.ideal_batch_size = o.max_seqs;
  plan.concurrency.batch_source = "--max-seqs";
  return plan;
}

}  // namespace rs
