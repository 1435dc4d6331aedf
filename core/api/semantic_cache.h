#pragma once
// The semantic cache in front of the engine (DESIGN.md: looked up on the
// shard before the engine sees the request): the exact tier answers from the
// store at once; otherwise the last user message goes through the embedding
// model and the store is searched by cosine; a miss runs as usual and its
// answer is stored when it ends with "stop" or "length".
#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>
#include <vector>

#include "cache/semantic_store.h"
#include "core/api/openai_request.h"
#include "core/api/openai_response.h"
#include "core/api/semantic_request.h"
#include "core/api/serving_model.h"
#include "core/base/metrics.h"
#include "io/connection_owner.h"
#include "io/reply.h"

namespace rs::api {

class SemanticCache {
 public:
  // `encoder` outlives the cache; options.dims must be the encoder's.
  SemanticCache(const cache::SemanticStoreOptions& options, const ServingEncoder& encoder);

  // The shard's thread: the exact tier, no embedding computed.
  std::optional<cache::SemanticHit> find_exact(const SemanticQuery& query) const;
  // Embeds the query's message, then calls `then` on `shard`'s thread with the vector and the best hit, if any.
  // A message the embedding model cannot take (too long) gets an empty vector and no hit.
  using Found = std::function<void(std::vector<float> vector, std::optional<cache::SemanticHit> hit)>;
  void find_similar(const SemanticQuery& query, io::ConnectionOwner& shard, Found then) const;
  // Any thread: stores a finished answer (no-op without a vector).
  void insert(const SemanticQuery& query, std::span<const float> vector, const cache::SemanticAnswer& answer);

  cache::SemanticStore& store() { return store_; }
  const cache::SemanticStore& store() const { return store_; }
  const ServingEncoder& encoder() const { return encoder_; }
  void render_metrics(metrics::Exposition& out) const;

 private:
  cache::SemanticStore store_;
  const ServingEncoder& encoder_;
};

// Milliseconds on the steady clock: the store's time.
int64_t steady_now_ms();

// Sends a hit as the request asked for it: one JSON body, or SSE chunks (the text in pieces, the finish reason,
// usage when stream_options.include_usage, [DONE]), with x-ringserve-cache: `tier` and the similarity.
void send_cached_answer(io::Reply& reply, const CompletionRequest& request, const ResponseMeta& meta,
                        uint32_t prompt_tokens, const cache::SemanticHit& hit, std::string_view tier);

}  // namespace rs::api
