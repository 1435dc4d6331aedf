#pragma once
// What the API handlers know of the model being served; fixed once loaded,
// read by every shard.
#include <cstdint>
#include <string>

#include "core/template/chat_template.h"
#include "core/tokenizer/tokenizer.h"

namespace rs::api {

struct ServingModel {
  std::string id;  // what /v1/models lists and responses name: --model-name, else the file's name
  const tokenizer::Tokenizer* tokenizer = nullptr;
  chat::ChatTemplate chat_template = chat::ChatTemplate::builtin("chatml");
  uint32_t ctx_size = 0;  // prompt plus generated tokens, per sequence
  int64_t created = 0;    // Unix seconds the model was loaded
  std::string system_fingerprint;
};

}  // namespace rs::api
