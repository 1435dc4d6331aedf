// The semantic cache's store: whole answers of deterministic requests, found by an exact key or by the cosine
// similarity of the last user message's embedding, read without locks from any thread.
//
// Readers (the HTTP shards) never lock: find_exact is one lookup in liburcu's RCU hash table, find_similar one scan
// of flat per-slot arrays of sketches (relaxed atomics), each candidate verified on its entry's own vector. Entries
// are immutable once published; a removed one is freed after an RCU grace period. Writers (any thread) take a mutex
// among themselves.
//
// find_similar's cost: one 256-bit sign sketch of the query (dims × 256 multiply-adds, ~8 us at 384 dims) and one
// pass over the slots in use, reading per slot an 8-byte scope and two sketch words (popcounts); only slots of the
// query's (context, guard) within the radius read further, and only those within the full radius reach their
// vector. Measured on one core (AMD EPYC, -O3, no -march, CPU time, other builds running), 384 dims, threshold
// 0.95, every entry of one scope: 80 us a lookup at 100,000 entries, 15 us at 10,000; at threshold 0.9, 105 us, at
// 0.85, 145 us (related vectors start to pass the first filter). The scan is linear, ~0.7 ns a slot: an HNSW index
// would take over from ~300,000 entries of one scope (a quarter of a millisecond, and several shards scanning share
// memory bandwidth), or for thresholds below ~0.85.
//
// Memory. Counted in max_bytes, per entry (bytes_of): its text and finish_reason, its vector (4 × dims bytes), and
// sizeof the entry record (key, string and vector headers, hash-table link, times). Outside it, allocated up front:
// about 110 bytes a slot of capacity (scope, sketch, entry pointer, hash bucket, eviction order) and 1 KiB per
// dimension of hyperplanes.
#pragma once

#include "cache/eviction_order.h"
#include "cache/sign_sketch.h"

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

struct cds_lfht;  // liburcu's RCU lock-free hash table; its headers stay out of includers

namespace rs::cache {

struct SemanticEntry;  // one stored answer; semantic_store.cc defines it

struct SemanticKey {
  uint64_t context = 0;  // hash of everything in the request but its last user message
  uint64_t exact = 0;    // hash of the last user message, whitespace-normalised
  uint64_t guard = 0;    // hash of the message's numbers, negation words and named entities
};

struct SemanticAnswer {
  std::string text;
  std::string finish_reason;
  uint32_t completion_tokens = 0;
};

struct SemanticHit {
  SemanticAnswer answer;
  float similarity = 0;  // 1 for an exact hit
};

struct SemanticStoreOptions {
  uint32_t dims = 384;                // embedding length; vectors are L2-normalised by the caller
  uint32_t capacity = 100'000;        // entries
  uint64_t max_bytes = 256ull << 20;  // SemanticStore::bytes_of summed over the entries
  uint32_t ttl_seconds = 0;           // an entry expires this long after its insert; 0: never
  float threshold = 0.95f;            // the least cosine find_similar answers with, in (0, 1]
};

// Readable from any thread, each value on its own (relaxed): a snapshot, not a transaction.
struct SemanticStoreCounters {
  uint64_t entries = 0;
  uint64_t bytes = 0;  // bytes_of summed over the entries
  uint64_t inserts = 0;
  uint64_t duplicates = 0;          // inserts refused because their (context, exact) was present
  uint64_t refused_too_large = 0;   // inserts refused because bytes_of exceeded max_bytes alone
  uint64_t evicted_expired = 0;     // reclaimed past their ttl
  uint64_t evicted_for_capacity = 0;
  uint64_t evicted_for_bytes = 0;
  uint64_t exact_lookups = 0;
  uint64_t exact_hits = 0;
  uint64_t similar_lookups = 0;
  uint64_t similar_hits = 0;
  uint64_t similar_candidates = 0;  // slots within the sketch radius, each verified on its vector
};

class SemanticStore {
 public:
  explicit SemanticStore(const SemanticStoreOptions& options);  // throws std::invalid_argument on bad options
  ~SemanticStore();  // no thread may still be in a find or insert
  SemanticStore(const SemanticStore&) = delete;
  SemanticStore& operator=(const SemanticStore&) = delete;

  // Any thread, lock-free; `now_ms` is the caller's steady clock. A thread's first call registers it with RCU.
  // The same context, exact and guard, not expired: its answer, similarity 1.
  std::optional<SemanticHit> find_exact(const SemanticKey& key, int64_t now_ms) const;
  // The live entry of the same context and guard whose vector has the highest cosine with `vector`, if that is at
  // least the threshold. A true hit escapes the sketch filter with probability below 1e-9; every hit is exact.
  std::optional<SemanticHit> find_similar(const SemanticKey& key, std::span<const float> vector, int64_t now_ms) const;

  // Any thread (writers serialise on a mutex). Stores a copy; false, storing nothing, if (context, exact) is
  // present and live (the present entry stays) or bytes_of(answer) exceeds max_bytes. Reclaims expired entries
  // first, then evicts the least recently hit (an entry never hit counts from its insert) until the new one fits.
  bool insert(const SemanticKey& key, std::span<const float> vector, const SemanticAnswer& answer, int64_t now_ms);

  uint64_t bytes_of(const SemanticAnswer& answer) const;  // what an entry with this answer counts in max_bytes
  SemanticStoreCounters counters() const;
  const SemanticStoreOptions& options() const { return options_; }

 private:
  enum class Removal { expired, for_capacity, for_bytes };

  const SemanticEntry* lookup(uint64_t context, uint64_t exact) const;  // in a read section
  bool expired(const SemanticEntry& entry, int64_t now_ms) const;
  SemanticHit hit(const SemanticEntry& entry, float similarity, int64_t now_ms) const;
  void remove(uint32_t slot, Removal why);  // under writer_mutex_, in a read section

  SemanticStoreOptions options_;
  SignSketcher sketcher_;
  // Radii of the scan's two filters, each missing a true hit with probability below 5e-10: over the sketch's first
  // 128 bits, then over all of it.
  uint32_t prefix_radius_;
  uint32_t radius_;

  cds_lfht* table_;  // hash of (context, exact) → entry

  // Per slot, read by every find_similar; a writer overwrites them when it reuses the slot, so a scan may read a
  // mix of two entries' values, harmless since it verifies every candidate on the entry it then loads.
  std::unique_ptr<std::atomic<uint64_t>[]> scopes_;  // hash of (context, guard)
  std::array<std::unique_ptr<std::atomic<uint64_t>[]>, kSketchWords> sketch_words_;  // [w][slot]: word w, a column
  std::unique_ptr<std::atomic<SemanticEntry*>[]> entries_;  // published with release; null while the slot is free
  std::atomic<uint32_t> slots_end_{0};  // no slot at or past it was ever used: scans stop there

  // The writers' side.
  std::mutex writer_mutex_;
  // A stack, lowest on top at the start: the slots in use stay below the most ever held at once, where scans stop.
  std::vector<uint32_t> free_slots_;
  EvictionOrder eviction_order_;

  struct Counters {
    std::atomic<uint64_t> entries{0}, bytes{0}, inserts{0}, duplicates{0}, refused_too_large{0};
    std::atomic<uint64_t> evicted_expired{0}, evicted_for_capacity{0}, evicted_for_bytes{0};
    // Bumped by every reader: on their own cache line, away from the writers'.
    alignas(64) std::atomic<uint64_t> exact_lookups{0};
    std::atomic<uint64_t> exact_hits{0}, similar_lookups{0}, similar_hits{0}, similar_candidates{0};
  };
  mutable Counters counters_;
};

}  // namespace rs::cache
