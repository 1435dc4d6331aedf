#include "core/app/warm_command.h"

#include <fmt/format.h>

#include <filesystem>

#include "core/app/command.h"
#include "core/app/kv_snapshot_collector.h"
#include "core/app/warm_prompts.h"
#include "core/base/log.h"

namespace rs {
namespace {

// What the API knows of the model: enough to tokenize the prompts as requests are.
api::ServingModel serving_model(const ModelEngine& model, const std::string& chat_template) {
  api::ServingModel serving;
  serving.tokenizer = &model.tokenizer();
  serving.chat_template = chat::select_chat_template(chat_template, model.tokenizer().vocab().chat_template);
  serving.ctx_size = model.ctx_size();
  return serving;
}

// One greedy token: what fills the prompt's blocks.
engine::GenerationRequest request_for(std::vector<engine::TokenId> prompt, uint64_t id) {
  engine::GenerationRequest request;
  request.id = id;
  request.prompt = std::move(prompt);
  request.sampling.temperature = 0;
  request.max_tokens = 1;
  return request;
}

}  // namespace

WarmResult warm(const WarmOptions& o) {
  ModelEngine model(o.engine);
  const api::ServingModel serving = serving_model(model, o.chat_template);
  const std::vector<std::vector<tokenizer::TokenId>> prompts = read_warm_prompts(o.prompts, serving);
  KvSnapshotCollector collector(model);
  for (size_t i = 0; i < prompts.size(); ++i) {
    model.engine().generate(request_for(prompts[i], i + 1));
    model.engine().between_steps([&](engine::Scheduler& s) { collector.collect(s, prompts[i]); });
  }
  collector.write(o.output);
  return {uint32_t(prompts.size()), collector.blocks(), uint64_t(collector.blocks()) * model.kv_layout().block_tokens,
          std::filesystem::file_size(o.output)};
}

Command add_warm_command(CLI::App& app) {
  CLI::App& command = *app.add_subcommand(
      "warm", "Run a prompts file through the model and write the KV blocks they fill to a prefix cache file, for "
              "serve --prefix-cache-file");
  auto o = std::make_shared<WarmOptions>();
  o->engine.limits.max_seqs = 1;          // one prompt at a time
  o->engine.kv_for_max_seqs_only = true;  // one context's blocks, on a GPU as on the CPU
  command.add_option("--model", o->engine.model,
                     "A GGUF model, or a Hugging Face model directory (default: the built-in demo model)")
      ->check(CLI::ExistingPath);
  command.add_option("--prompts", o->prompts,
                     "One JSON value per line: a completion prompt (a string or token ids) or {\"messages\":[...]}, "
                     "rendered with the chat template")
      ->required()
      ->check(CLI::ExistingFile);
  command.add_option("-o,--output", o->output, "The prefix cache file to write")->required();
  command.add_option("--chat-template", o->chat_template,
                     "Use this chat template instead of the model's: a built-in name or a Jinja file (as serve's)");
  add_device_option(command, o->engine.device, "Where the model runs: cuda (device 0), cpu, or auto");
  command.add_option("--threads", o->engine.threads, "CPU compute threads (default: every core)");
  command.add_option("--kv-type", o->engine.kv_type, "KV cache type: serve's --kv-type must be the same")
      ->check(CLI::IsMember({"f16", "q8_0", "f32"}))
      ->capture_default_str();
  command.add_option("--ctx-size", o->engine.ctx_size,
                     "Context per sequence (as serve's): a prompt must leave room for one token")
      ->check(CLI::Range(16u, 1u << 24))
      ->capture_default_str();
  return {&command, [o] {
            try {
              const WarmResult r = warm(*o);
              fmt::print("warm: {} prompts, {} blocks ({} tokens), {} bytes written to {}\n", r.prompts, r.blocks,
                         r.tokens, r.bytes, o->output);
              return 0;
            } catch (const std::exception& e) {
              log::error("warm: {}", e.what());
              return 1;
            }
          }};
}

}  // namespace rs
