#include "cache/semantic_store.h"

#include "cache/rcu_section.h"

#include <urcu/rculfhash.h>  // after the RCU flavour, as liburcu requires
#include <xxhash.h>

#include <array>
#include <bit>
#include <new>
#include <stdexcept>
#include <string>

namespace rs::cache {

// One stored answer. Nothing in it changes once published but its last hit.
struct SemanticEntry {
  cds_lfht_node link;
  rcu_head reclaim;
  SemanticKey key;
  SemanticAnswer answer;
  std::vector<float> vector;
  int64_t inserted_ms = 0;
  uint64_t bytes = 0;
  uint32_t slot = 0;
  // Here rather than per slot: a reader may still hold an entry whose slot a writer has given to another.
  mutable std::atomic<int64_t> last_hit_ms{0};
  // Stored last, with release, and loaded with acquire by key_matches(): this orders the fields above for readers in
  // C++'s own terms, which ThreadSanitizer sees, rather than only through liburcu's (uninstrumented) barriers.
  std::atomic<uint64_t> table_hash{0};
};

namespace {

static_assert(sizeof(unsigned long) == sizeof(uint64_t), "cds_lfht takes a 64-bit hash as its unsigned long");

constexpr uint64_t kHyperplaneSeed = 0x5e3a171cULL;  // fixed: sketches live only in memory, any seed serves
constexpr double kMissProbabilityPerFilter = 0.5e-9;  // two filters, so a true hit is missed below 1e-9

uint64_t hash_pair(uint64_t a, uint64_t b) {
  const uint64_t pair[2] = {a, b};
  return XXH3_64bits(pair, sizeof pair);
}

// Eight running sums, so that the compiler may vectorize without reassociating one sum.
float dot(std::span<const float> a, std::span<const float> b) {
  float partial[8] = {};
  size_t i = 0;
  for (; i + 8 <= a.size(); i += 8) {
    for (size_t lane = 0; lane < 8; ++lane) partial[lane] += a[i + lane] * b[i + lane];
  }
  float sum = 0;
  for (; i < a.size(); ++i) sum += a[i] * b[i];
  for (float lane_sum : partial) sum += lane_sum;
  return sum;
}

void check_dims(std::span<const float> vector, uint32_t dims, const char* operation) {
  if (vector.size() != dims) {
    throw std::invalid_argument(std::string("SemanticStore::") + operation + ": the vector's length is not dims");
  }
}

const SemanticStoreOptions& checked(const SemanticStoreOptions& options) {
  if (options.dims == 0) throw std::invalid_argument("SemanticStore: dims must be positive");
  if (options.capacity == 0) throw std::invalid_argument("SemanticStore: capacity must be positive");
  if (!(options.threshold > 0 && options.threshold <= 1)) {
    throw std::invalid_argument("SemanticStore: threshold must be in (0, 1]");
  }
  return options;
}

template <typename T>
std::unique_ptr<std::atomic<T>[]> atomic_array(uint32_t size) {
  return std::unique_ptr<std::atomic<T>[]>(new std::atomic<T>[size]{});
}

// The scan's first filter reads this many sketch words of each slot. One word lets 5% of unrelated vectors through
// at threshold 0.95, whose other words then cost cache misses (the scan measured 1.5-2x slower); two, 2.5e-6.
constexpr uint32_t kPrefixWords = 2;

// What find_similar's scan compares each slot with: the per-slot arrays, the query's scope and sketch, the radii.
struct SketchFilter {
  const std::atomic<uint64_t>* scopes;
  std::array<const std::atomic<uint64_t>*, kSketchWords> words;
  uint64_t scope;
  Sketch query;
  uint32_t prefix_radius;
  uint32_t radius;
};

// Calls visit(slot) for each slot below `end` of the filter's scope whose sketch is within both radii of the
// query, and returns how many.
template <typename Visit>
[[gnu::always_inline]] inline uint64_t for_each_candidate(const SketchFilter& filter, uint32_t end, Visit& visit) {
  const SketchFilter f = filter;  // a local copy, which the loop keeps in registers across its atomic loads
  uint64_t candidates = 0;
  for (uint32_t slot = 0; slot < end; ++slot) {
    const uint64_t scope = f.scopes[slot].load(std::memory_order_relaxed);
    uint32_t distance = 0;
    for (uint32_t word = 0; word < kPrefixWords; ++word) {
      distance += std::popcount(f.words[word][slot].load(std::memory_order_relaxed) ^ f.query[word]);
    }
    if ((scope == f.scope) & (distance <= f.prefix_radius)) [[unlikely]] {
      for (uint32_t word = kPrefixWords; word < kSketchWords; ++word) {
        distance += std::popcount(f.words[word][slot].load(std::memory_order_relaxed) ^ f.query[word]);
      }
      if (distance <= f.radius) {
        ++candidates;
        visit(slot);
      }
    }
  }
  return candidates;
}

// The scan compiled twice: with the popcnt instruction (without it, bit tricks: the scan measured 5x slower),
// and for CPUs that lack it. Chosen at run time by hand, since ifunc clones crash under ThreadSanitizer.
template <typename Visit>
[[gnu::target("popcnt")]] uint64_t for_each_candidate_popcnt(const SketchFilter& filter, uint32_t end, Visit& visit) {
  return for_each_candidate(filter, end, visit);
}

template <typename Visit>
uint64_t for_each_candidate_portable(const SketchFilter& filter, uint32_t end, Visit& visit) {
  return for_each_candidate(filter, end, visit);
}

bool cpu_has_popcnt() {
  static const bool has = __builtin_cpu_supports("popcnt");
  return has;
}

// Sized once for the capacity, a bucket an entry, and never resized: liburcu 0.13's lazy auto-resize was seen here,
// in some runs, to stop growing early (find_exact at 5 us instead of 0.3 at 100,000 entries).
cds_lfht* new_table(uint32_t capacity) {
  const auto buckets = std::bit_ceil(static_cast<unsigned long>(capacity));  // a power of two, as cds_lfht requires
  cds_lfht* table = cds_lfht_new_flavor(buckets, buckets, buckets, 0, &urcu_memb_flavor, nullptr);
  if (table == nullptr) throw std::bad_alloc();
  return table;
}

struct ExactKey {
  uint64_t hash;
  uint64_t context;
  uint64_t exact;
};

int key_matches(cds_lfht_node* link, const void* wanted) {
  const auto* entry = caa_container_of(link, SemanticEntry, link);
  const auto* key = static_cast<const ExactKey*>(wanted);
  return entry->table_hash.load(std::memory_order_acquire) == key->hash && entry->key.context == key->context &&
         entry->key.exact == key->exact;
}

}  // namespace

SemanticStore::SemanticStore(const SemanticStoreOptions& options)
    : options_(checked(options)),
      sketcher_(options.dims, kHyperplaneSeed),
      prefix_radius_(hamming_radius(64 * kPrefixWords, options.threshold, kMissProbabilityPerFilter)),
      radius_(hamming_radius(kSketchBits, options.threshold, kMissProbabilityPerFilter)),
      table_(new_table(options.capacity)),
      scopes_(atomic_array<uint64_t>(options.capacity)),
      entries_(atomic_array<SemanticEntry*>(options.capacity)),
      eviction_order_(options.capacity) {
  for (auto& words : sketch_words_) words = atomic_array<uint64_t>(options.capacity);
  free_slots_.reserve(options.capacity);
  for (uint32_t slot = options.capacity; slot > 0; --slot) free_slots_.push_back(slot - 1);
}

SemanticStore::~SemanticStore() {
  {
    rcu::ReadSection section;
    const uint32_t end = slots_end_.load(std::memory_order_relaxed);
    for (uint32_t slot = 0; slot < end; ++slot) {
      SemanticEntry* entry = entries_[slot].load(std::memory_order_relaxed);
      if (entry == nullptr) continue;
      cds_lfht_del(table_, &entry->link);
      rcu::delete_after_grace_period(entry);
    }
  }
  cds_lfht_destroy(table_, nullptr);  // cannot fail: the table is empty
}

uint64_t SemanticStore::bytes_of(const SemanticAnswer& answer) const {
  return answer.text.size() + answer.finish_reason.size() + sizeof(float) * uint64_t{options_.dims} +
         sizeof(SemanticEntry);
}

const SemanticEntry* SemanticStore::lookup(uint64_t context, uint64_t exact) const {
  const ExactKey wanted{hash_pair(context, exact), context, exact};
  cds_lfht_iter iter;
  cds_lfht_lookup(table_, wanted.hash, key_matches, &wanted, &iter);
  cds_lfht_node* link = cds_lfht_iter_get_node(&iter);
  return link == nullptr ? nullptr : caa_container_of(link, SemanticEntry, link);
}

bool SemanticStore::expired(const SemanticEntry& entry, int64_t now_ms) const {
  return options_.ttl_seconds != 0 && now_ms - entry.inserted_ms >= int64_t{options_.ttl_seconds} * 1000;
}

SemanticHit SemanticStore::hit(const SemanticEntry& entry, float similarity, int64_t now_ms) const {
  entry.last_hit_ms.store(now_ms, std::memory_order_relaxed);
  return SemanticHit{entry.answer, similarity};
}

std::optional<SemanticHit> SemanticStore::find_exact(const SemanticKey& key, int64_t now_ms) const {
  counters_.exact_lookups.fetch_add(1, std::memory_order_relaxed);
  rcu::ReadSection section;
  const SemanticEntry* entry = lookup(key.context, key.exact);
  if (entry == nullptr || entry->key.guard != key.guard || expired(*entry, now_ms)) return std::nullopt;
  counters_.exact_hits.fetch_add(1, std::memory_order_relaxed);
  return hit(*entry, 1.0f, now_ms);
}

std::optional<SemanticHit> SemanticStore::find_similar(const SemanticKey& key, std::span<const float> vector,
                                                        int64_t now_ms) const {
  check_dims(vector, options_.dims, "find_similar");
  counters_.similar_lookups.fetch_add(1, std::memory_order_relaxed);
  SketchFilter filter{.scopes = scopes_.get(),
                      .words = {},
                      .scope = hash_pair(key.context, key.guard),
                      .query = sketcher_.sketch(vector),
                      .prefix_radius = prefix_radius_,
                      .radius = radius_};
  for (uint32_t word = 0; word < kSketchWords; ++word) filter.words[word] = sketch_words_[word].get();

  rcu::ReadSection section;
  const SemanticEntry* best = nullptr;
  float best_similarity = 0;
  const auto verify = [&](uint32_t slot) {
    const SemanticEntry* entry = entries_[slot].load(std::memory_order_acquire);
    if (entry == nullptr || entry->key.context != key.context || entry->key.guard != key.guard ||
        expired(*entry, now_ms)) {
      return;
    }
    const float similarity = dot(entry->vector, vector);
    if (similarity >= options_.threshold && (best == nullptr || similarity > best_similarity)) {
      best = entry;
      best_similarity = similarity;
    }
  };
  const uint32_t end = slots_end_.load(std::memory_order_relaxed);
  const uint64_t candidates = cpu_has_popcnt() ? for_each_candidate_popcnt(filter, end, verify)
                                               : for_each_candidate_portable(filter, end, verify);
  counters_.similar_candidates.fetch_add(candidates, std::memory_order_relaxed);
  if (best == nullptr) return std::nullopt;
  counters_.similar_hits.fetch_add(1, std::memory_order_relaxed);
  return hit(*best, best_similarity, now_ms);
}

bool SemanticStore::insert(const SemanticKey& key, std::span<const float> vector, const SemanticAnswer& answer,
                           int64_t now_ms) {
  check_dims(vector, options_.dims, "insert");
  const uint64_t bytes = bytes_of(answer);
  if (bytes > options_.max_bytes) {
    counters_.refused_too_large.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  // Built before the lock: the copies and the sketch are the insert's own work.
  auto entry = std::make_unique<SemanticEntry>();
  cds_lfht_node_init(&entry->link);
  entry->key = key;
  entry->answer = answer;
  entry->vector.assign(vector.begin(), vector.end());
  entry->inserted_ms = now_ms;
  entry->bytes = bytes;
  entry->last_hit_ms.store(now_ms, std::memory_order_relaxed);
  const uint64_t table_hash = hash_pair(key.context, key.exact);
  const Sketch sketch = sketcher_.sketch(vector);

  std::lock_guard lock(writer_mutex_);
  rcu::ReadSection section;
  // Insertion order is time order (up to the skew between callers' clocks), so the expired are the oldest.
  while (const std::optional<uint32_t> oldest = eviction_order_.oldest_inserted()) {
    if (!expired(*entries_[*oldest].load(std::memory_order_relaxed), now_ms)) break;
    remove(*oldest, Removal::expired);
  }
  if (const SemanticEntry* present = lookup(key.context, key.exact)) {
    if (!expired(*present, now_ms)) {
      counters_.duplicates.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    remove(present->slot, Removal::expired);  // one a skewed clock kept from the front of the insertion order
  }
  const auto last_hit = [this](uint32_t slot) {
    return entries_[slot].load(std::memory_order_relaxed)->last_hit_ms.load(std::memory_order_relaxed);
  };
  while (eviction_order_.size() == options_.capacity ||
         counters_.bytes.load(std::memory_order_relaxed) + bytes > options_.max_bytes) {
    const Removal why = eviction_order_.size() == options_.capacity ? Removal::for_capacity : Removal::for_bytes;
    remove(eviction_order_.least_recently_hit(last_hit), why);
  }

  const uint32_t slot = free_slots_.back();
  free_slots_.pop_back();
  entry->slot = slot;
  entry->table_hash.store(table_hash, std::memory_order_release);  // last: publishes the fields to key_matches()
  scopes_[slot].store(hash_pair(key.context, key.guard), std::memory_order_relaxed);
  for (uint32_t word = 0; word < kSketchWords; ++word) {
    sketch_words_[word][slot].store(sketch[word], std::memory_order_relaxed);
  }
  SemanticEntry* published = entry.release();
  entries_[slot].store(published, std::memory_order_release);
  if (slot >= slots_end_.load(std::memory_order_relaxed)) slots_end_.store(slot + 1, std::memory_order_relaxed);
  cds_lfht_add(table_, table_hash, &published->link);  // unique: the lookup above found none, under the mutex
  eviction_order_.add(slot, now_ms);
  counters_.entries.fetch_add(1, std::memory_order_relaxed);
  counters_.bytes.fetch_add(bytes, std::memory_order_relaxed);
  counters_.inserts.fetch_add(1, std::memory_order_relaxed);
  return true;
}

void SemanticStore::remove(uint32_t slot, Removal why) {
  SemanticEntry* entry = entries_[slot].load(std::memory_order_relaxed);
  entries_[slot].store(nullptr, std::memory_order_relaxed);  // scans that load it from now on skip the slot
  if (cds_lfht_del(table_, &entry->link) != 0) throw std::logic_error("SemanticStore: an entry left the table twice");
  eviction_order_.remove(slot);
  free_slots_.push_back(slot);
  counters_.entries.fetch_sub(1, std::memory_order_relaxed);
  counters_.bytes.fetch_sub(entry->bytes, std::memory_order_relaxed);
  (why == Removal::expired        ? counters_.evicted_expired
   : why == Removal::for_capacity ? counters_.evicted_for_capacity
                                  : counters_.evicted_for_bytes)
      .fetch_add(1, std::memory_order_relaxed);
  rcu::delete_after_grace_period(entry);  // readers that loaded it before may still be verifying it
}

SemanticStoreCounters SemanticStore::counters() const {
  const auto read = [](const std::atomic<uint64_t>& counter) { return counter.load(std::memory_order_relaxed); };
  return {
      .entries = read(counters_.entries),
      .bytes = read(counters_.bytes),
      .inserts = read(counters_.inserts),
      .duplicates = read(counters_.duplicates),
      .refused_too_large = read(counters_.refused_too_large),
      .evicted_expired = read(counters_.evicted_expired),
      .evicted_for_capacity = read(counters_.evicted_for_capacity),
      .evicted_for_bytes = read(counters_.evicted_for_bytes),
      .exact_lookups = read(counters_.exact_lookups),
      .exact_hits = read(counters_.exact_hits),
      .similar_lookups = read(counters_.similar_lookups),
      .similar_hits = read(counters_.similar_hits),
      .similar_candidates = read(counters_.similar_candidates),
  };
}

}  // namespace rs::cache
