#pragma once
// `serve --semantic-cache-file`: the answers `ringserve warm --semantic` wrote (cache/semantic_snapshot.h) put
// into the semantic cache before the server is ready, so that the first time a warmed question is asked it is
// answered from the cache. The file is checked against this server first: the LLM's identity and served id (they
// made the answers, and the id enters every key), the embedding model's identity and dims (they made the
// vectors). A file that does not match or is damaged is refused with one log line naming the file and the field,
// and the server serves without it.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/api/semantic_cache.h"

namespace rs {

struct SemanticCacheLoad {
  uint32_t answers = 0;  // inserted
  uint32_t refused = 0;  // not inserted: the store held their key already, or one is over --semantic-cache-bytes
  uint64_t evicted = 0;  // answers pushed out by later ones (--semantic-cache-entries, --semantic-cache-bytes)
  double seconds = 0;
};

// Inserts the answers of the file at `path` into `cache` and logs one line: what was loaded, or why the file was
// refused. `model_identity` (model::model_identity) and `model_id` are the LLM's, `embedding_identity`
// (model::encoder_identity) the embedding model's. Never throws; nullopt when refused.
std::optional<SemanticCacheLoad> load_semantic_cache_file(const std::string& path, api::SemanticCache& cache,
                                                          uint64_t model_identity, std::string_view model_id,
                                                          uint64_t embedding_identity);

}  // namespace rs
