#include "core/api/semantic_cache.h"

#include <fmt/format.h>

#include <chrono>

namespace rs::api {
namespace {

// A streamed hit's text goes out in pieces of about this many bytes, cut after a space where one is near.
constexpr size_t kStreamPieceBytes = 48;

// The next piece of `text`: up to about kStreamPieceBytes, never splitting a UTF-8 character.
size_t piece_end(std::string_view text, size_t begin) {
  if (text.size() - begin <= kStreamPieceBytes) return text.size();
  size_t end = begin + kStreamPieceBytes;
  const size_t space = text.rfind(' ', end);
  if (space != std::string_view::npos && space > begin) return space + 1;
  while (end < text.size() && (static_cast<uint8_t>(text[end]) & 0xC0) == 0x80) ++end;
  return end;
}

}  // namespace

int64_t steady_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

SemanticCache::SemanticCache(const cache::SemanticStoreOptions& options, const ServingEncoder& encoder)
    : store_(options), encoder_(encoder) {}

std::optional<cache::SemanticHit> SemanticCache::find_exact(const SemanticQuery& query) const {
  return store_.find_exact({query.context, query.exact, query.guard}, steady_now_ms());
}

void SemanticCache::find_similar(const SemanticQuery& query, io::ConnectionOwner& shard, Found then) const {
  std::vector<int32_t> tokens = encoder_.tokenizer->encode(query.message, true);
  if (tokens.empty() || tokens.size() > encoder_.engine->max_tokens()) {
    then({}, std::nullopt);
    return;
  }
  std::vector<std::vector<int32_t>> inputs;
  inputs.push_back(std::move(tokens));
  const cache::SemanticKey key{query.context, query.exact, query.guard};
  encoder_.engine->submit(std::move(inputs), [this, &shard, key, then = std::move(then)](engine::EmbeddingResult r) {
    // The search runs here, on the embedding thread, so that the shard only sends.
    std::optional<cache::SemanticHit> hit;
    if (!r.vectors.empty()) hit = store_.find_similar(key, r.vectors, steady_now_ms());
    shard.post([then, vector = std::move(r.vectors), hit = std::move(hit)]() mutable {
      then(std::move(vector), std::move(hit));
    });
  });
}

void SemanticCache::insert(const SemanticQuery& query, std::span<const float> vector,
                           const cache::SemanticAnswer& answer) {
  if (vector.empty()) return;
  store_.insert({query.context, query.exact, query.guard}, vector, answer, steady_now_ms());
}

void SemanticCache::render_metrics(metrics::Exposition& out) const {
  const cache::SemanticStoreCounters c = store_.counters();
  out.family("ringserve_semantic_cache_lookups_total", "counter",
             "Requests looked up in the semantic cache (deterministic ones that did not opt out).");
  out.sample("ringserve_semantic_cache_lookups_total", {}, double(c.exact_lookups));
  out.family("ringserve_semantic_cache_hits_total", "counter",
             "Requests answered from the semantic cache, by tier: exact (same normalised message) or semantic "
             "(embedding similarity at or above --semantic-threshold).");
  out.sample("ringserve_semantic_cache_hits_total", {{"tier", "exact"}}, double(c.exact_hits));
  out.sample("ringserve_semantic_cache_hits_total", {{"tier", "semantic"}}, double(c.similar_hits));
  out.family("ringserve_semantic_cache_inserts_total", "counter", "Answers stored in the semantic cache.");
  out.sample("ringserve_semantic_cache_inserts_total", {}, double(c.inserts));
  out.family("ringserve_semantic_cache_evictions_total", "counter",
             "Answers removed from the semantic cache, by reason: expired (--semantic-cache-ttl), entries "
             "(--semantic-cache-entries) or bytes (--semantic-cache-bytes).");
  out.sample("ringserve_semantic_cache_evictions_total", {{"reason", "expired"}}, double(c.evicted_expired));
  out.sample("ringserve_semantic_cache_evictions_total", {{"reason", "entries"}}, double(c.evicted_for_capacity));
  out.sample("ringserve_semantic_cache_evictions_total", {{"reason", "bytes"}}, double(c.evicted_for_bytes));
  out.family("ringserve_semantic_cache_entries", "gauge", "Answers held in the semantic cache.");
  out.sample("ringserve_semantic_cache_entries", {}, double(c.entries));
  out.family("ringserve_semantic_cache_bytes", "gauge", "Bytes the semantic cache's answers and vectors take.");
  out.sample("ringserve_semantic_cache_bytes", {}, double(c.bytes));
}

void send_cached_answer(io::Reply& reply, const CompletionRequest& request, const ResponseMeta& meta,
                        uint32_t prompt_tokens, const cache::SemanticHit& hit, std::string_view tier) {
  const bool chat = request.endpoint == Endpoint::chat;
  const Usage usage{prompt_tokens, hit.answer.completion_tokens, 0};
  std::vector<io::Header> headers = {{"x-ringserve-cache", std::string(tier)},
                                     {"x-ringserve-cache-similarity", fmt::format("{:.4f}", hit.similarity)}};
  if (!request.stream) {
    const ChoiceResult choice{0, hit.answer.text, hit.answer.finish_reason, false, {}, {}, {}};
    std::string body;
    if (chat) append_chat_completion(body, meta, std::span(&choice, 1), usage);
    else append_completion(body, meta, std::span(&choice, 1), usage);
    io::Response response;
    response.body = std::move(body);
    response.headers = std::move(headers);
    reply.send(std::move(response));
    return;
  }
  headers.push_back({"Cache-Control", "no-cache"});
  reply.start({200, "text/event-stream", std::move(headers)});
  std::string chunk;
  const std::string_view text = hit.answer.text;
  auto send = [&](const ChunkPiece& piece) {
    chunk.clear();
    if (chat) append_chat_chunk(chunk, meta, piece, request.include_usage);
    else append_completion_chunk(chunk, meta, piece, request.include_usage);
    return reply.event(chunk);
  };
  size_t begin = 0;
  bool first = true;
  do {  // at least one piece: a chat's first chunk carries the role even for an empty answer
    const size_t end = piece_end(text, begin);
    ChunkPiece piece;
    piece.first = first && chat;
    piece.text = text.substr(begin, end - begin);
    if (!send(piece)) return;  // the client is gone or too slow
    begin = end;
    first = false;
  } while (begin < text.size());
  ChunkPiece last;
  last.finish_reason = hit.answer.finish_reason;
  if (!send(last)) return;
  if (request.include_usage) {
    chunk.clear();
    append_usage_chunk(chunk, meta, chat, usage);
    reply.event(chunk);
  }
  reply.event("[DONE]");
  reply.end();
}

}  // namespace rs::api
