#include "core/app/model_engine.h"

#include <fmt/format.h>

#include <algorithm>
#include <span>
#include <stdexcept>
#include <thread>

#include "core/app/capacity_plan.h"
#include "core/kv/block_hash.h"
#include "core/model/model_identity.h"
#include "core/tokenizer/special_tokens.h"
#include "core/tokenizer/vocab.h"

namespace rs {
namespace {

kv::KvLayout block_layout(const ModelEngineOptions& o, const model::ModelDesc& desc, model::TensorType kv_type) {
  return {desc.n_layers, desc.n_kv_heads, desc.head_dim, o.block_tokens, kv_type, 0};
}

// Blocks of the KV pool: --kv-cache-gib, or room for max_seqs full contexts within a quarter of memory.
uint32_t kv_blocks(const ModelEngineOptions& o, const model::ModelDesc& desc, model::TensorType kv_type) {
  const kv::KvLayout layout = block_layout(o, desc, kv_type);
  const double blocks = o.kv_cache_gib > 0
                           ? o.kv_cache_gib * double(1ull << 30) / double(layout.block_bytes())
                           : cpu_kv_blocks(layout, o.ctx_size, o.limits.max_seqs, physical_memory_bytes());
  if (blocks < layout.blocks_for(o.ctx_size)) {
    throw std::invalid_argument(fmt::format(
        "the KV cache holds {:.0f} blocks of {} tokens, less than one {}-token context: raise --kv-cache-gib or "
        "lower --ctx-size", blocks, o.block_tokens, o.ctx_size));
  }
  return uint32_t(std::min(blocks, 1e9));
}

}  // namespace

ModelEngine::ModelEngine(const ModelEngineOptions& options) {
  if (options.model.empty()) demo_.emplace();
  const std::string& path = demo_ ? demo_->path() : options.model;
  model::ModelDesc desc = cpu::describe_model(path);
  tokenizer_ = std::make_unique<tokenizer::Tokenizer>(tokenizer::vocab_from_metadata(desc.metadata, path));
  ModelEngineOptions o = options;
  if (desc.context_length) o.ctx_size = std::min(o.ctx_size, desc.context_length);
  o.limits.ctx_size = ctx_size_ = o.ctx_size;
  // Cached KV is the same only for the same weights, KV type and block size.
  model_identity_ = model::model_identity(desc);
  kv_salt_ = kv::chain_salt(model_identity_, *model::tensor_type_from_name(o.kv_type), o.block_tokens);
  load_executor(std::move(desc), o);
  demo_.reset();  // loaded: the file is no longer needed
  engine_ = std::make_unique<engine::Engine>(*executor_, o.limits,
                                             tokenizer::end_of_generation_tokens(tokenizer_->vocab()),
                                             engine::PrefixCaching{o.prefix_caching, kv_salt_});
}

// The executor factory: the device's executor with its KV pool, sized by the scheduler's limits.
void ModelEngine::load_executor(model::ModelDesc desc, const ModelEngineOptions& o) {
  const model::TensorType kv_type = *model::tensor_type_from_name(o.kv_type);
  if (resolves_to_cuda(o.device)) {
    const gpu::CudaExecutorOptions options{
        .kv_type = kv_type,
        .kv_blocks = o.kv_cache_gib > 0 || o.kv_for_max_seqs_only ? kv_blocks(o, desc, kv_type) : 0,
        .block_tokens = o.block_tokens,
        .max_batch_tokens = o.limits.max_batch_tokens,
        .max_seqs = o.limits.max_seqs,
        .ctx_size = o.ctx_size,
        .memory_fraction = o.gpu_memory_fraction};
    cuda_ = std::make_unique<gpu::CudaModel>(std::move(desc), 0, options, io::StreamOptions{});
    executor_ = &cuda_->executor();
    return;
  }
  const cpu::CpuExecutorOptions options{o.threads, o.compute_nice, kv_type, kv_blocks(o, desc, kv_type), o.block_tokens};
  const size_t block_bytes = block_layout(o, desc, kv_type).block_bytes();
  std::unique_ptr<std::byte[]> kv_memory = cpu::make_kv_memory(block_bytes * options.kv_blocks);
  {
    const std::span<std::byte> pool(kv_memory.get(), block_bytes * options.kv_blocks);
    std::jthread prepare;  // joined before the executor takes the pool
    if (o.kv_blocks_prepared) {
      prepare = std::jthread(
          [&] { cpu::touch_for_writes(pool.first(block_bytes * std::min(o.kv_blocks_prepared, options.kv_blocks))); });
    }
    weights_ = std::make_unique<cpu::ModelWeights>(std::move(desc), io::StreamOptions{});
  }
  cpu_executor_ = std::make_unique<cpu::CpuExecutor>(*weights_, options, std::move(kv_memory));
  executor_ = cpu_executor_.get();
}

}  // namespace rs
