#pragma once
// `ringserve serve`: the HTTP server until SIGTERM / SIGINT.
#include <CLI/CLI.hpp>

#include "cache/semantic_store.h"
#include "core/app/embedding_service.h"
#include "core/app/model_service.h"
#include "io/server_config.h"

namespace rs {

struct ServeOptions {
  io::ServerConfig server;
  double header_timeout_s = 10;
  double body_timeout_s = 60;
  double idle_timeout_s = 60;
  double write_timeout_s = 30;
  double drain_timeout_s = 8;
  bool no_pin = false;
  std::string io_backend = "auto";
  bool no_prefix_cache = false;
  ModelServiceOptions model;
  EmbeddingServiceOptions embedding;  // embedding.model "" : no /v1/embeddings
  bool semantic_cache = false;
  cache::SemanticStoreOptions semantic;  // dims come from the embedding model
  std::string semantic_cache_file;       // a `ringserve warm --semantic` file loaded before ready
  std::string api_key;           // also RINGSERVE_API_KEY
  std::string api_key_file;      // its first line is the api_key
  uint32_t max_concurrency = 0;  // 0: --max-seqs
  int64_t max_queue = -1;        // -1: as many as max_concurrency; 0: no queue
};

int serve(ServeOptions options);

}  // namespace rs
