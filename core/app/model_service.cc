#include "core/app/model_service.h"

#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <filesystem>

#include "core/base/log.h"
#include "core/tokenizer/special_tokens.h"

namespace rs {
namespace {

std::string model_id(const ModelServiceOptions& o) {
  if (!o.model_name.empty()) return o.model_name;
  if (o.model.empty()) return std::string(kDemoModelId);
  std::filesystem::path path(o.model);
  if (!path.has_filename()) path = path.parent_path();  // "models/llama/": the directory's name
  return path.extension() == ".gguf" ? path.stem().string() : path.filename().string();
}

double physical_memory_bytes() { return double(sysconf(_SC_PHYS_PAGES)) * double(sysconf(_SC_PAGE_SIZE)); }

// Blocks of the KV pool: --kv-cache-gib, or room for max_seqs full contexts within a quarter of memory.
uint32_t kv_blocks(const ModelServiceOptions& o, const model::ModelDesc& desc, model::TensorType kv_type) {
  kv::KvLayout layout{desc.n_layers, desc.n_kv_heads, desc.head_dim, o.block_tokens, kv_type, 0};
  const double block_bytes = double(layout.block_bytes());
  const uint32_t per_sequence = layout.blocks_for(o.ctx_size);
  double blocks = 0;
  if (o.kv_cache_gib > 0) {
    blocks = o.kv_cache_gib * double(1ull << 30) / block_bytes;
  } else {
    blocks = std::min(double(per_sequence) * o.limits.max_seqs, physical_memory_bytes() / 4 / block_bytes);
  }
  if (blocks < per_sequence) {
    throw std::invalid_argument(fmt::format(
        "the KV cache holds {:.0f} blocks of {} tokens, less than one {}-token context: raise --kv-cache-gib or "
        "lower --ctx-size", blocks, o.block_tokens, o.ctx_size));
  }
  return uint32_t(std::min(blocks, 1e9));
}

}  // namespace

ModelService::ModelService(ModelServiceOptions o) {
  if (o.model.empty()) {
    log::info("serve: no --model, serving the built-in demo model \"{}\" (random weights: its text is noise)",
              kDemoModelId);
    demo_.emplace();
  }
  const std::string& path = demo_ ? demo_->path() : o.model;
  model::ModelDesc desc = cpu::describe_model(path);
  tokenizer_ = std::make_unique<tokenizer::Tokenizer>(tokenizer::vocab_from_metadata(desc.metadata, path));
  const std::string model_template = tokenizer_->vocab().chat_template;
  if (desc.context_length && o.ctx_size > desc.context_length) {
    log::info("serve: --ctx-size {} is beyond the {} tokens the model was trained for; using {}", o.ctx_size,
              desc.context_length, desc.context_length);
    o.ctx_size = desc.context_length;
  }
  o.limits.ctx_size = o.ctx_size;
  const model::TensorType kv_type = *model::tensor_type_from_name(o.kv_type);
  const bool cuda = resolves_to_cuda(o.device);
  if (cuda) {
    const gpu::CudaExecutorOptions options{
        .kv_type = kv_type,
        .kv_blocks = o.kv_cache_gib > 0 ? kv_blocks(o, desc, kv_type) : 0,
        .block_tokens = o.block_tokens,
        .max_batch_tokens = o.limits.max_batch_tokens,
        .max_seqs = o.limits.max_seqs,
        .ctx_size = o.ctx_size,
        .memory_fraction = o.gpu_memory_fraction};
    cuda_ = std::make_unique<gpu::CudaModel>(std::move(desc), 0, options, io::StreamOptions{});
    const gpu::DeviceLoadResult& load = cuda_->load();
    log::info("serve: weights streamed to CUDA device 0: {:.2f} GB in {:.2f} s ({:.2f} GB/s, {}), {:.2f} GB of device "
              "memory", double(load.stream.bytes) / 1e9, load.stream.seconds,
              load.stream.seconds > 0 ? double(load.stream.bytes) / load.stream.seconds / 1e9 : 0.0,
              load.stream.direct ? "O_DIRECT" : "buffered", double(cuda_->weight_bytes()) / 1e9);
    executor_ = &cuda_->executor();
  } else {
    weights_ = std::make_unique<cpu::ModelWeights>(std::move(desc), io::StreamOptions{});
    cpu_executor_ = std::make_unique<cpu::CpuExecutor>(
        *weights_, cpu::CpuExecutorOptions{o.threads, kv_type, kv_blocks(o, weights_->desc(), kv_type),
                                              o.block_tokens});
    executor_ = cpu_executor_.get();
  }
  demo_.reset();  // loaded: the file is no longer needed
  const kv::KvLayout& kv = executor_->kv_layout();
  log::info("serve: KV cache {} blocks of {} tokens ({} tokens, {:.2f} GiB, {}, {}); up to {} sequences of {} tokens, "
            "{} tokens per step",
            kv.n_blocks, kv.block_tokens, uint64_t(kv.n_blocks) * kv.block_tokens,
            double(kv.block_bytes()) * kv.n_blocks / double(1ull << 30), o.kv_type, cuda ? "on the GPU" : "in host memory",
            o.limits.max_seqs, o.ctx_size, o.limits.max_batch_tokens);
  engine_ = std::make_unique<engine::Engine>(*executor_, o.limits,
                                             tokenizer::end_of_generation_tokens(tokenizer_->vocab()));

  serving_.id = model_id(o);
  serving_.tokenizer = tokenizer_.get();
  serving_.chat_template = chat::select_chat_template(o.chat_template, model_template);
  serving_.ctx_size = o.ctx_size;
  serving_.created = int64_t(std::time(nullptr));
  serving_.system_fingerprint = fmt::format("ringserve-{}-{}-{}", RINGSERVE_VERSION, cuda ? "cuda" : "cpu", o.kv_type);

  // Warm-up: one real prompt and token through the engine, so the first client pays no first-step costs.
  const auto start = std::chrono::steady_clock::now();
  engine::GenerationRequest warm;
  warm.id = 0;
  warm.prompt = tokenizer_->encode("Hello", true);
  if (warm.prompt.empty()) warm.prompt.push_back(0);
  warm.sampling.temperature = 0;
  warm.max_tokens = 1;
  engine_->generate(std::move(warm));
  log::info("serve: warm-up step done in {:.1f} ms",
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  if (weights_) huge_pages_ = std::thread([this] { weights_->move_to_huge_pages(); });
}

ModelService::~ModelService() {
  if (huge_pages_.joinable()) huge_pages_.join();
}

}  // namespace rs
