#include "core/app/model_service.h"

#include <fmt/format.h>

#include <chrono>
#include <ctime>
#include <filesystem>

#include "core/api/structured_output.h"
#include "core/app/prefix_cache_file.h"
#include "core/base/log.h"

namespace rs {
namespace {

// The options, once the log says which model serve loads when none is named.
const ModelServiceOptions& announced(const ModelServiceOptions& o) {
  if (o.model.empty()) {
    log::info("serve: no --model, serving the built-in demo model \"{}\" (random weights: its text is noise)",
              kDemoModelId);
  }
  return o;
}

// A prefix-cache snapshot opened ahead of the model, so that it is made ready to load while the weights stream.
std::unique_ptr<PreparedSnapshot> prepared_snapshot(const ModelServiceOptions& o) {
  if (o.prefix_cache_file.empty() || !o.prefix_caching) return nullptr;
  return std::make_unique<PreparedSnapshot>(o.prefix_cache_file);
}

// The engine's options: the KV blocks a prefix-cache snapshot will fill, per its header, faulted in while the
// weights stream (a file that cannot be read prepares none; its load says why).
ModelEngineOptions engine_options(const ModelServiceOptions& o, const PreparedSnapshot* snapshot) {
  ModelEngineOptions engine = announced(o);
  if (snapshot) engine.kv_blocks_prepared = snapshot->blocks();
  return engine;
}

}  // namespace

std::string served_model_id(const std::string& model, const std::string& model_name) {
  if (!model_name.empty()) return model_name;
  if (model.empty()) return std::string(kDemoModelId);
  std::filesystem::path path(model);
  if (!path.has_filename()) path = path.parent_path();  // "models/llama/": the directory's name
  return path.extension() == ".gguf" ? path.stem().string() : path.filename().string();
}

ModelService::ModelService(const ModelServiceOptions& o)
    : snapshot_(prepared_snapshot(o)), model_(engine_options(o, snapshot_.get())) {
  log_loaded(o);
  serving_.id = served_model_id(o.model, o.model_name);
  serving_.tokenizer = &model_.tokenizer();
  serving_.chat_template = chat::select_chat_template(o.chat_template, model_.tokenizer().vocab().chat_template);
  serving_.tool_call_format = o.tool_call_parser.empty() ? api::tool_call_format_of(serving_.chat_template.source())
                                                         : *api::tool_call_format_named(o.tool_call_parser);
  log::info("serve: tool calls read in the {} format ({})", api::tool_call_format_name(serving_.tool_call_format),
            o.tool_call_parser.empty() ? "as the chat template shows, hermes where it shows none; --tool-call-parser "
                                         "chooses"
                                       : "--tool-call-parser");
  serving_.ctx_size = model_.ctx_size();
  serving_.grammars = api::grammar_compiler_for(model_.tokenizer());
  serving_.created = int64_t(std::time(nullptr));
  serving_.system_fingerprint =
      fmt::format("ringserve-{}-{}-{}", RINGSERVE_VERSION, model_.cuda() ? "cuda" : "cpu", o.kv_type);
  warm_up();
  load_prefix_cache(o);
  if (const cpu::ModelWeights* weights = model_.host_weights()) {
    huge_pages_ = std::thread([weights] { weights->move_to_huge_pages(); });
  }
}

ModelService::~ModelService() {
  if (huge_pages_.joinable()) huge_pages_.join();
}

void ModelService::log_loaded(const ModelServiceOptions& o) const {
  if (model_.ctx_size() < o.ctx_size) {
    log::info("serve: --ctx-size {} is beyond the {} tokens the model was trained for; using {}", o.ctx_size,
              model_.ctx_size(), model_.ctx_size());
  }
  if (const gpu::CudaModel* cuda = model_.cuda()) {
    const gpu::DeviceLoadResult& load = cuda->load();
    log::info("serve: weights streamed to CUDA device 0: {:.2f} GB in {:.2f} s ({:.2f} GB/s, {}), {:.2f} GB of device "
              "memory", double(load.stream.bytes) / 1e9, load.stream.seconds,
              load.stream.seconds > 0 ? double(load.stream.bytes) / load.stream.seconds / 1e9 : 0.0,
              load.stream.direct ? "O_DIRECT" : "buffered", double(cuda->weight_bytes()) / 1e9);
  }
  const kv::KvLayout& kv = model_.kv_layout();
  log::info("serve: KV cache {} blocks of {} tokens ({} tokens, {:.2f} GiB, {}, {}); up to {} sequences of {} tokens, "
            "{} tokens per step",
            kv.n_blocks, kv.block_tokens, uint64_t(kv.n_blocks) * kv.block_tokens,
            double(kv.block_bytes()) * kv.n_blocks / double(1ull << 30), o.kv_type,
            model_.cuda() ? "on the GPU" : "in host memory", o.limits.max_seqs, model_.ctx_size(),
            o.limits.max_batch_tokens);
}

// One real prompt and token through the engine, so the first client pays no first-step costs.
void ModelService::warm_up() {
  const auto start = std::chrono::steady_clock::now();
  engine::GenerationRequest warm;
  warm.id = 0;
  warm.prompt = model_.tokenizer().encode("Hello", true);
  if (warm.prompt.empty()) warm.prompt.push_back(0);
  warm.sampling.temperature = 0;
  warm.max_tokens = 1;
  model_.engine().generate(std::move(warm));
  log::info("serve: warm-up step done in {:.1f} ms",
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
}

void ModelService::load_prefix_cache(const ModelServiceOptions& o) {
  if (o.prefix_cache_file.empty()) return;
  if (!o.prefix_caching) {
    log::warn("prefix cache file {} not loaded: the prefix cache is off (--no-prefix-cache)", o.prefix_cache_file);
    return;
  }
  load_prefix_cache_file(model_, *snapshot_);
  snapshot_.reset();  // frees its staging and records
}

}  // namespace rs
