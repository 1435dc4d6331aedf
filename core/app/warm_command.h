#pragma once
// `ringserve warm`: what a server would otherwise have to learn from its first requests, computed at build time
// and written to a file the server loads before it is ready (the "warm at build time, load at start" of a
// container image). By default, the KV blocks a prompts file's prompts fill (cache/kv_snapshot.h), for
// `serve --prefix-cache-file`; with --semantic, the answers to a questions file with their keys and embeddings
// (cache/semantic_snapshot.h), for `serve --semantic-cache-file`.
#include <cstdint>
#include <string>

#include "core/app/embedding_service.h"
#include "core/app/model_engine.h"

namespace rs {

struct WarmOptions {
  ModelEngineOptions engine;  // as serve's, where they change the KV or the answers: model, device, KV type…
  std::string chat_template;  // "" : the model's own
  std::string prompts;        // the prompts file (warm_prompts.h): prompts, or with `semantic` questions
  std::string output;
  bool semantic = false;              // answers for the semantic cache instead of KV blocks
  std::string model_name;             // semantic: serve's --model-name ("" : the file's name, as serve's)
  EmbeddingServiceOptions embedding;  // semantic: serve's --embedding-model
};

struct WarmResult {
  uint32_t prompts = 0;
  uint32_t blocks = 0;
  uint64_t tokens = 0;  // the blocks' tokens
  uint64_t bytes = 0;   // of the file
};

struct SemanticWarmResult {
  uint32_t answers = 0;
  uint32_t generated = 0;  // of them, the model's (the lines without an "answer")
  uint64_t bytes = 0;      // of the file
};

// Throw std::exception naming the file (and line) or option at fault.
WarmResult warm(const WarmOptions& options);
SemanticWarmResult warm_semantic(const WarmOptions& options);

}  // namespace rs
