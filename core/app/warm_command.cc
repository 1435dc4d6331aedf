#include "core/app/warm_command.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <future>
#include <stdexcept>

#include "cache/semantic_snapshot.h"
#include "core/app/command.h"
#include "core/app/kv_snapshot_collector.h"
#include "core/app/model_service.h"
#include "core/app/warm_prompts.h"
#include "core/base/log.h"
#include "core/sampler/stop_matcher.h"
#include "core/tokenizer/special_tokens.h"
#include "core/tokenizer/stream_decoder.h"

namespace rs {
namespace {

// What the API knows of the model: enough to tokenize and key the prompts as requests are.
api::ServingModel serving_model(const ModelEngine& model, const std::string& chat_template, std::string id) {
  api::ServingModel serving;
  serving.id = std::move(id);
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

[[noreturn]] void line_error(const std::string& path, size_t line, std::string_view what) {
  throw std::runtime_error(fmt::format("{}:{}: {}", path, line, what));
}

// The embedding model's input for a question: its last user message, tokenized as SemanticCache::find_similar
// tokenizes it. A message the model cannot take would be answered but never cached by the server.
std::vector<int32_t> embedding_input(const api::ServingEncoder& encoder, const WarmQuestion& q,
                                     const std::string& path) {
  std::vector<int32_t> tokens = encoder.tokenizer->encode(q.query.message, true);
  if (tokens.empty() || tokens.size() > encoder.engine->max_tokens()) {
    line_error(path, q.line,
               fmt::format("the last user message is {} tokens to the embedding model, which takes 1 to {}",
                           tokens.size(), encoder.engine->max_tokens()));
  }
  return tokens;
}

// The vectors of `inputs`, one dims() after another, in order.
std::vector<float> embed(const api::ServingEncoder& encoder, std::vector<std::vector<int32_t>> inputs) {
  if (inputs.empty()) return {};
  std::promise<engine::EmbeddingResult> done;
  encoder.engine->submit(std::move(inputs), [&done](engine::EmbeddingResult r) { done.set_value(std::move(r)); });
  engine::EmbeddingResult result = done.get_future().get();
  if (!result.error.empty()) throw std::runtime_error("the embedding model failed: " + result.error);
  return std::move(result.vectors);
}

// A line's own answer: a stop, counted in the LLM's tokens.
cache::SemanticAnswer given_answer(const std::string& text, const tokenizer::Tokenizer& tokenizer) {
  return {text, "stop", uint32_t(tokenizer.encode(text, false).size())};
}

// What the server answers `q`'s request with when it runs the model: the request's own sampling (greedy at
// temperature 0, else its seed's draw), and the tokens turned into text as Completion turns a choice's (stop
// strings cut, the stop token counted but not shown). Runs to the stop token or max_tokens, then cuts at a stop
// string, where the server stops generating at once: the same answer, with some extra tokens computed.
cache::SemanticAnswer generated_answer(ModelEngine& model, const WarmQuestion& q, const std::string& path) {
  const sampler::SamplingParams& sampling = q.request.sampling;
  engine::GenerationRequest request;
  request.id = q.line;
  request.prompt = q.prompt;
  request.sampling = sampling;
  request.max_tokens = sampling.max_tokens ? uint32_t(*sampling.max_tokens) : UINT32_MAX;  // clamped to what fits
  std::vector<engine::TokenId> tokens;
  try {
    tokens = model.engine().generate(std::move(request));
  } catch (const std::invalid_argument& e) {
    line_error(path, q.line, e.what());
  }
  // The engine's rule: a last token that is a stop token ended the request.
  const std::vector<engine::TokenId> end = tokenizer::end_of_generation_tokens(model.tokenizer().vocab());
  const bool stop_token = !tokens.empty() && sampling.is_stop_token(tokens.back(), end);
  const size_t shown = stop_token ? tokens.size() - 1 : tokens.size();
  tokenizer::StreamDecoder decoder(model.tokenizer());
  std::string text;
  std::vector<size_t> starts;  // where each shown token's text starts in `text`
  for (size_t i = 0; i < shown; ++i) {
    starts.push_back(text.size());
    text += decoder.push(tokens[i]);
  }
  text += decoder.finish();
  sampler::StopMatcher stops(sampling.stop);
  sampler::StopOutput out = stops.push(text);
  if (out.stopped) {  // the tokens whose text starts before the stop string count, as the server counts them
    const auto counted = std::lower_bound(starts.begin(), starts.end(), out.emit.size()) - starts.begin();
    return {std::move(out.emit), "stop", uint32_t(counted)};
  }
  return {out.emit + stops.finish(), stop_token ? "stop" : "length", uint32_t(tokens.size())};
}

}  // namespace

WarmResult warm(const WarmOptions& o) {
  ModelEngine model(o.engine);
  const api::ServingModel serving = serving_model(model, o.chat_template, "");
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

SemanticWarmResult warm_semantic(const WarmOptions& o) {
  ModelEngine model(o.engine);
  const api::ServingModel serving =
      serving_model(model, o.chat_template, served_model_id(o.engine.model, o.model_name));
  const EmbeddingService embeddings(o.embedding);
  const api::ServingEncoder& encoder = embeddings.serving();
  const std::vector<WarmQuestion> questions = read_warm_questions(o.prompts, serving);
  std::vector<std::vector<int32_t>> inputs;
  for (const WarmQuestion& q : questions) inputs.push_back(embedding_input(encoder, q, o.prompts));
  std::vector<cache::SemanticSnapshotEntry> entries;
  uint32_t generated = 0;
  for (const WarmQuestion& q : questions) {
    cache::SemanticSnapshotEntry& e = entries.emplace_back();
    e.key = {q.query.context, q.query.exact, q.query.guard};
    if (q.answer) {
      e.answer = given_answer(*q.answer, model.tokenizer());
    } else {
      e.answer = generated_answer(model, q, o.prompts);
      ++generated;
    }
  }
  const std::vector<float> vectors = embed(encoder, std::move(inputs));
  const uint32_t dims = encoder.engine->dims();
  for (size_t i = 0; i < entries.size(); ++i) {
    entries[i].vector.assign(vectors.begin() + ptrdiff_t(i * dims), vectors.begin() + ptrdiff_t((i + 1) * dims));
  }
  cache::write_semantic_snapshot(o.output, {dims, model.model_identity(), serving.id, embeddings.identity()},
                                 entries);
  return {uint32_t(entries.size()), generated, std::filesystem::file_size(o.output)};
}

Command add_warm_command(CLI::App& app) {
  CLI::App& command = *app.add_subcommand(
      "warm", "Compute at build time what a server loads before it is ready: the KV blocks a prompts file's prompts "
              "fill, for serve --prefix-cache-file; or with --semantic, the answers to a questions file, for serve "
              "--semantic-cache-file");
  auto o = std::make_shared<WarmOptions>();
  o->engine.limits.max_seqs = 1;          // one prompt at a time
  o->engine.kv_for_max_seqs_only = true;  // one context's blocks, on a GPU as on the CPU
  command.add_option("--model", o->engine.model,
                     "A GGUF model, or a Hugging Face model directory (default: the built-in demo model)")
      ->check(CLI::ExistingPath);
  command.add_option("--prompts", o->prompts,
                     "One JSON value per line. Without --semantic: a completion prompt (a string or token ids) or "
                     "{\"messages\":[...]}, rendered with the chat template. With --semantic: a chat completion "
                     "request body as a client sends it ({\"messages\":[...],\"temperature\":0,...}) or "
                     "{\"question\":\"...\"} (one user message, temperature 0), either with an optional "
                     "\"answer\" string; a line without one is answered by the model")
      ->required()
      ->check(CLI::ExistingFile);
  command.add_option("-o,--output", o->output, "The file to write: a prefix cache file, or with --semantic a "
                                                "semantic cache file")
      ->required();
  CLI::Option* semantic = command.add_flag(
      "--semantic", o->semantic,
      "Write the semantic cache's answers, keyed as the server keys requests and embedded with --embedding-model, "
      "instead of KV blocks");
  command.add_option("--embedding-model", o->embedding.model,
                     "With --semantic: the embedding model serve runs with --embedding-model")
      ->check(CLI::ExistingFile)
      ->needs(semantic);
  semantic->needs("--embedding-model");
  command.add_option("--model-name", o->model_name,
                     "With --semantic: serve's --model-name, which every answer's key includes (default: the model "
                     "file's name, as serve's)")
      ->needs(semantic);
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
              if (o->semantic) {
                const SemanticWarmResult r = warm_semantic(*o);
                fmt::print("warm: {} answers ({} by the model), {} bytes written to {}\n", r.answers, r.generated,
                           r.bytes, o->output);
              } else {
                const WarmResult r = warm(*o);
                fmt::print("warm: {} prompts, {} blocks ({} tokens), {} bytes written to {}\n", r.prompts, r.blocks,
                           r.tokens, r.bytes, o->output);
              }
              return 0;
            } catch (const std::exception& e) {
              log::error("warm: {}", e.what());
              return 1;
            }
          }};
}

}  // namespace rs
