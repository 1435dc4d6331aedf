#pragma once
// What the API handlers know of the model being served; fixed once loaded,
// read by every shard.
#include <cstdint>
#include <memory>
#include <string>

#include "core/api/tool_calls.h"
#include "core/engine/embedding_engine.h"
#include "core/grammar/grammar_compiler.h"
#include "core/template/chat_template.h"
#include "core/tokenizer/tokenizer.h"

namespace rs::api {

struct ServingModel {
  std::string id;  // what /v1/models lists and responses name: --model-name, else the file's name
  const tokenizer::Tokenizer* tokenizer = nullptr;
  chat::ChatTemplate chat_template = chat::ChatTemplate::builtin("chatml");
  ToolCallFormat tool_call_format = ToolCallFormat::hermes;  // how the model writes tool calls ("auto")
  uint32_t ctx_size = 0;  // prompt plus generated tokens, per sequence
  int64_t created = 0;    // Unix seconds the model was loaded
  std::string system_fingerprint;
  // Compiles and caches the requests' output constraints (structured_output.h); none: they are refused.
  std::shared_ptr<grammar::GrammarCompiler> grammars;
};

// The embedding model behind /v1/embeddings, once loaded.
struct ServingEncoder {
  std::string id;  // --embedding-model-name, else the file's name
  const tokenizer::Tokenizer* tokenizer = nullptr;
  engine::EmbeddingEngine* engine = nullptr;
};

}  // namespace rs::api
