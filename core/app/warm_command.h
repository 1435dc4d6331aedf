#pragma once
// `ringserve warm`: runs a prompts file through the model and writes the KV blocks its prompts fill to a
// snapshot file (cache/kv_snapshot.h), which `serve --prefix-cache-file` loads before it is ready: the
// "warm at build time, load at start" of a container image.
#include <cstdint>
#include <string>

#include "core/app/model_engine.h"

namespace rs {

struct WarmOptions {
  ModelEngineOptions engine;  // as serve's, where they change the KV: model, device, KV type, block size
  std::string chat_template;  // "" : the model's own
  std::string prompts;        // the prompts file (warm_prompts.h)
  std::string output;
};

struct WarmResult {
  uint32_t prompts = 0;
  uint32_t blocks = 0;
  uint64_t tokens = 0;  // the blocks' tokens
  uint64_t bytes = 0;   // of the file
};

// Throws std::exception naming the file (and line) or option at fault.
WarmResult warm(const WarmOptions& options);

}  // namespace rs
