// `ringserve plan`: what a model needs and holds on a device, from its
// description alone, and the Cloud Run / GKE manifests that serve it so.
#include <fmt/format.h>

#include "core/app/capacity_plan.h"
#include "core/app/command.h"
#include "core/app/deploy_manifests.h"
#include "core/app/measured_batch.h"
#include "core/base/json_write.h"
#include "core/base/log.h"
#include "core/cpu/model_weights.h"

namespace rs {
namespace {

constexpr double kGiB = double(1ull << 30);

struct PlanArgs {
  std::string model;
  std::string device = "cuda";
  double gpu_memory_gib = 24;  // an L4's
  double memory_gib = 0;       // 0: this machine's
  double gpu_memory_fraction = 0.9;
  uint32_t ctx_size = 4096;
  std::string kv_type = "f16";
  uint32_t max_seqs = 64;
  uint32_t max_batch_tokens = 2048;
  uint32_t block_tokens = 16;
  bool json = false;
  std::string from;
  LatencyTargets targets;
  std::string emit;
  std::string image = "REGION-docker.pkg.dev/PROJECT/REPOSITORY/ringserve:latest";
  std::string model_path = "/models/model.gguf";
  std::string name = "ringserve";
  uint32_t min_instances = 0;
  uint32_t max_instances = 3;
};

PlanOptions plan_options(const PlanArgs& a) {
  const bool cuda = a.device == "cuda";
  return {.cuda = cuda,
          .memory_bytes = cuda ? a.gpu_memory_gib * kGiB : a.memory_gib > 0 ? a.memory_gib * kGiB : physical_memory_bytes(),
          .gpu_memory_fraction = a.gpu_memory_fraction,
          .ctx_size = a.ctx_size,
          .kv_type = *model::tensor_type_from_name(a.kv_type),
          .max_seqs = a.max_seqs,
          .max_batch_tokens = a.max_batch_tokens,
          .block_tokens = a.block_tokens};
}

// The flags given, in the order --help lists them: the command that makes the same output again.
std::string command_line(const CLI::App& command) {
  std::string out = "ringserve plan";
  for (const CLI::Option* option : command.get_options()) {
    if (option->count() == 0) continue;
    out += " " + option->get_name();
    if (option->get_type_size() == 0) continue;  // a flag
    for (const std::string& value : option->results()) out += " " + value;
  }
  return out;
}

std::string gib(double bytes) { return fmt::format("{:.2f} GiB", bytes / kGiB); }

void print_text(const PlanArgs& a, const model::ModelDesc& d, const PlanOptions& o, const CapacityPlan& p) {
  const Concurrency& c = p.concurrency;
  fmt::print("model        {}: {} layers, {} KV heads of {}, trained context {}\n", a.model, d.n_layers,
             d.n_kv_heads, d.head_dim, d.context_length);
  if (o.cuda) {
    fmt::print("device       cuda: {} × --gpu-memory-fraction {}\n", gib(o.memory_bytes), o.gpu_memory_fraction);
  } else {
    fmt::print("device       cpu: {} of memory, a quarter at most for the KV cache\n", gib(o.memory_bytes));
  }
  fmt::print("weights      {} bytes ({})\n", p.weight_bytes, gib(double(p.weight_bytes)));
  if (o.cuda) {
    fmt::print("workspace    {} bytes ({}): step activations, GEMM scratch, reserve\n", p.workspace_bytes,
               gib(double(p.workspace_bytes)));
  }
  fmt::print("KV per token {} bytes ({})\n", p.kv_bytes_per_token, a.kv_type);
  fmt::print("KV cache     {} blocks of {} tokens, {} bytes ({})\n", p.kv_blocks, o.block_tokens, p.kv_pool_bytes,
             gib(double(p.kv_pool_bytes)));
  fmt::print("capacity     {} tokens: {} full contexts of {} tokens\n", p.kv_tokens, p.full_context_sequences,
             p.ctx_size);
  fmt::print("concurrency  {} = {} model instance × {} parallel queries (full contexts held, at most --max-seqs) "
             "+ {} × {} ideal batch size ({})\n",
             c.max_concurrency(), c.model_instances, c.parallel_queries, c.model_instances, c.ideal_batch_size,
             c.batch_source);
}

void print_json(const PlanArgs& a, const PlanOptions& o, const CapacityPlan& p) {
  const Concurrency& c = p.concurrency;
  fmt::print(R"({{"model":{},"device":"{}","memory_bytes":{:.0f},"gpu_memory_fraction":{},"weight_bytes":{},)"
             R"("workspace_bytes":{},"kv_type":"{}","kv_bytes_per_token":{},"block_tokens":{},"kv_blocks":{},)"
             R"("kv_pool_bytes":{},"kv_tokens":{},"ctx_size":{},"full_context_sequences":{},"model_instances":{},)"
             R"("parallel_queries":{},"ideal_batch_size":{},"ideal_batch_source":{},"max_concurrency":{}}})"
             "\n",
             json::quote(a.model), a.device, o.memory_bytes, o.gpu_memory_fraction, p.weight_bytes,
             p.workspace_bytes, a.kv_type, p.kv_bytes_per_token, o.block_tokens, p.kv_blocks, p.kv_pool_bytes,
             p.kv_tokens, p.ctx_size, p.full_context_sequences, c.model_instances, c.parallel_queries,
             c.ideal_batch_size, json::quote(c.batch_source), c.max_concurrency());
}

DeploySettings deploy_settings(const PlanArgs& a, const CLI::App& command, const model::ModelDesc& d,
                               const CapacityPlan& p) {
  const uint64_t concurrency = p.concurrency.max_concurrency();
  return {.generated_by = command_line(command),
          .model_note = d.name.empty() ? a.model : d.name,
          .name = a.name,
          .image = a.image,
          .serve_args = {"--model", a.model_path, "--port", "8080", "--device", "cuda", "--ctx-size",
                         std::to_string(p.ctx_size), "--kv-type", a.kv_type, "--max-seqs", std::to_string(a.max_seqs),
                         "--max-batch-tokens", std::to_string(a.max_batch_tokens), "--gpu-memory-fraction",
                         fmt::format("{}", a.gpu_memory_fraction), "--max-concurrency", std::to_string(concurrency)},
          .max_concurrency = concurrency,
          .ideal_batch_size = p.concurrency.ideal_batch_size,
          .min_instances = a.min_instances,
          .max_instances = a.max_instances};
}

int run_plan(const PlanArgs& a, const CLI::App& command) {
  if (!a.emit.empty() && a.device != "cuda") {
    throw std::invalid_argument("--emit writes manifests for one nvidia-l4 per instance: plan with --device cuda");
  }
  const model::ModelDesc desc = cpu::describe_model(a.model);
  const PlanOptions options = plan_options(a);
  CapacityPlan plan = plan_capacity(desc, options);
  if (!a.from.empty()) {
    const MeasuredBatch measured = measured_batch(a.from, a.targets);
    plan.concurrency.ideal_batch_size = measured.concurrency;
    plan.concurrency.batch_source = measured.source;
  }
  if (a.emit == "cloudrun") {
    fmt::print("{}", cloud_run_service(deploy_settings(a, command, desc, plan)));
  } else if (a.emit == "gke") {
    fmt::print("{}", gke_manifests(deploy_settings(a, command, desc, plan)));
  } else if (a.emit == "gke-gateway") {
    fmt::print("{}", gke_gateway_manifests(deploy_settings(a, command, desc, plan)));
  } else if (a.json) {
    print_json(a, options, plan);
  } else {
    print_text(a, desc, options, plan);
  }
  return 0;
}

}  // namespace

Command add_plan_command(CLI::App& app) {
  CLI::App& command = *app.add_subcommand(
      "plan",
      "Size a deployment without loading the weights: weight bytes, KV bytes per token, the KV cache's capacity in "
      "tokens and full-context sequences, and Cloud Run's max concurrency by Google's rule, (model instances × "
      "parallel queries) + (model instances × ideal batch size). For ringserve one model instance runs per GPU; "
      "parallel queries are the full contexts the KV cache holds, at most --max-seqs; the ideal batch size is "
      "--max-seqs, or with --from the concurrency a ringperf run measured. On CUDA the KV cache gets what "
      "serve's rule leaves: --gpu-memory-fraction of --gpu-memory, less the weights, the step's activations and "
      "GEMM scratch and a 256 MiB reserve (the CUDA context is not counted: expect a few hundred MiB less). On the "
      "CPU, serve's default: --max-seqs full contexts, at most a quarter of --memory. --emit prints the Cloud Run "
      "service or the GKE manifests for one nvidia-l4 per instance, filled with these numbers");
  auto args = std::make_shared<PlanArgs>();
  PlanArgs& a = *args;
  command.add_option("--model", a.model, "A .gguf file, a .safetensors file, or a Hugging Face model directory "
                                         "(only its description is read)")
      ->required()
      ->check(CLI::ExistingPath);
  command.add_option("--device", a.device, "Where serve runs it: cuda or cpu")
      ->check(CLI::IsMember({"cuda", "cpu"}))
      ->capture_default_str();
  command.add_option("--gpu-memory", a.gpu_memory_gib, "The GPU's memory, GiB (an L4: 24)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  command.add_option("--memory", a.memory_gib, "--device cpu: the host's memory, GiB (default: this machine's)")
      ->check(CLI::PositiveNumber);
  command.add_option("--gpu-memory-fraction", a.gpu_memory_fraction, "As serve's")
      ->check(CLI::Range(0.01, 1.0))
      ->capture_default_str();
  command.add_option("--ctx-size", a.ctx_size, "Tokens per sequence, as serve's (at most the model's)")
      ->check(CLI::Range(1u, 1u << 24))
      ->capture_default_str();
  command.add_option("--kv-type", a.kv_type, "KV cache type, as serve's (CUDA: f16 or f32)")
      ->check(CLI::IsMember({"f16", "f32", "q8_0"}))
      ->capture_default_str();
  command.add_option("--max-seqs", a.max_seqs, "Sequences in the running batch, as serve's")
      ->check(CLI::Range(1u, 1u << 16))
      ->capture_default_str();
  command.add_option("--max-batch-tokens", a.max_batch_tokens, "Tokens per engine step, as serve's")
      ->check(CLI::Range(1u, 1u << 20))
      ->capture_default_str();
  command.add_option("--block-tokens", a.block_tokens, "Tokens per KV block")
      ->check(CLI::Range(1u, 1024u))
      ->capture_default_str();
  command.add_flag("--json", a.json, "Print one JSON object instead of text");
  auto* from = command.add_option("--from", a.from,
                                  "A ringperf results.json (closed-loop sweep): its largest concurrency meeting "
                                  "--target-ntpot-ms / --target-ttft-ms, or without them its inflection point, is "
                                  "the ideal batch size")
                   ->check(CLI::ExistingFile);
  command.add_option("--target-ntpot-ms", a.targets.ntpot_ms, "With --from: NTPOT target at the run's percentile")
      ->check(CLI::PositiveNumber)
      ->needs(from);
  command.add_option("--target-ttft-ms", a.targets.ttft_ms, "With --from: TTFT target at the run's percentile")
      ->check(CLI::PositiveNumber)
      ->needs(from);
  auto* emit = command.add_option("--emit", a.emit,
                                  "Print manifests instead: cloudrun (a Knative service for `gcloud run services "
                                  "replace`), gke (Deployment, Service, PodMonitoring, HorizontalPodAutoscaler) or "
                                  "gke-gateway (GKE Inference Gateway in front of gke's pods: InferencePool, endpoint "
                                  "picker, InferenceObjective, Gateway, HTTPRoute)")
                   ->check(CLI::IsMember({"cloudrun", "gke", "gke-gateway"}))
                   ->excludes("--json");
  command.add_option("--image", a.image, "With --emit: the container image")->needs(emit)->capture_default_str();
  command.add_option("--model-path", a.model_path, "With --emit: the model's path in the container (in the image, "
                                                   "or a mounted Cloud Storage volume)")
      ->needs(emit)
      ->capture_default_str();
  command.add_option("--name", a.name, "With --emit: the service's name")->needs(emit)->capture_default_str();
  command.add_option("--min-instances", a.min_instances, "With --emit: instances kept running (billed while idle)")
      ->needs(emit)
      ->capture_default_str();
  command.add_option("--max-instances", a.max_instances, "With --emit: the most instances to scale out to")
      ->needs(emit)
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  return {&command, [args, &command] {
            try {
              return run_plan(*args, command);
            } catch (const std::exception& e) {
              log::error("plan: {}", e.what());
              return 1;
            }
          }};
}

}  // namespace rs
