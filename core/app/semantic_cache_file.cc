#include "core/app/semantic_cache_file.h"

#include <fmt/format.h>

#include <chrono>
#include <stdexcept>

#include "cache/semantic_snapshot.h"
#include "core/base/log.h"

namespace rs {
namespace {

[[noreturn]] void refuse_file(const std::string& path, std::string_view reason) {
  throw std::runtime_error(fmt::format("{}: {}", path, reason));
}

// Answers of another LLM or served id would be wrong answers; vectors of another embedding model, wrong hits.
void check_matches(const cache::SemanticSnapshotHeader& h, const api::SemanticCache& cache, uint64_t model_identity,
                   std::string_view model_id, uint64_t embedding_identity, const std::string& path) {
  if (h.model_identity != model_identity) {
    refuse_file(path, fmt::format("model identity {:#x} is another model's (this server's: {:#x})", h.model_identity,
                             model_identity));
  }
  if (h.model_id != model_id) {
    refuse_file(path, fmt::format("model id \"{}\" is not this server's \"{}\" (--model-name)", h.model_id, model_id));
  }
  if (h.embedding_identity != embedding_identity) {
    refuse_file(path, fmt::format("embedding model identity {:#x} is another embedding model's (this server's: {:#x})",
                             h.embedding_identity, embedding_identity));
  }
  if (const uint32_t dims = cache.store().options().dims; h.dims != dims) {
    refuse_file(path, fmt::format("dims {} are not this embedding model's {}", h.dims, dims));
  }
}

uint64_t evictions(const cache::SemanticStoreCounters& c) { return c.evicted_for_capacity + c.evicted_for_bytes; }

}  // namespace

std::optional<SemanticCacheLoad> load_semantic_cache_file(const std::string& path, api::SemanticCache& cache,
                                                          uint64_t model_identity, std::string_view model_id,
                                                          uint64_t embedding_identity) {
  const auto start = std::chrono::steady_clock::now();
  SemanticCacheLoad load;
  try {
    const cache::SemanticSnapshot snapshot = cache::read_semantic_snapshot(path);
    check_matches(snapshot.header, cache, model_identity, model_id, embedding_identity, path);
    const uint64_t evicted_before = evictions(cache.store().counters());
    for (const cache::SemanticSnapshotEntry& e : snapshot.entries) {
      if (cache.store().insert(e.key, e.vector, e.answer, api::steady_now_ms())) ++load.answers;
      else ++load.refused;
    }
    load.evicted = evictions(cache.store().counters()) - evicted_before;
  } catch (const std::exception& e) {
    log::warn("semantic cache file refused: {}; serving without it", e.what());
    return std::nullopt;
  }
  load.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::string notes;
  if (load.refused) {
    notes += fmt::format("; {} not inserted (their key cached already, or over --semantic-cache-bytes alone)",
                         load.refused);
  }
  if (load.evicted) {
    notes += fmt::format("; {} of them evicted for later ones (--semantic-cache-entries, --semantic-cache-bytes)",
                         load.evicted);
  }
  log::info("semantic cache: {} answers from {} in {:.1f} ms{}", load.answers, path, load.seconds * 1e3, notes);
  return load;
}

}  // namespace rs
