// The semantic store under concurrent readers and two writers that fill it past capacity, bytes and ttl, so that
// it evicts all the while: every hit a reader gets is an answer a writer stored under a matching key, with the
// right similarity; the bounds hold; and the readers really raced the writers. cache_tsan_tests runs this file
// under ThreadSanitizer too.
#include "cache/semantic_store.h"

#include "tests/cache/unit_vectors.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstdint>
#include <latch>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace rs::cache {
namespace {

constexpr uint32_t kStressDims = 32;
constexpr uint32_t kCapacity = 256;
constexpr uint32_t kWriters = 2;
constexpr uint32_t kKeysPerWriter = 1024;  // four times the capacity each: inserts evict from the start
constexpr uint32_t kStoredKeys = kWriters * kKeysPerWriter;
constexpr int kStoreReaders = 4;
#if defined(__SANITIZE_THREAD__)
constexpr uint32_t kPasses = 2;  // ThreadSanitizer runs about ten times slower
#else
constexpr uint32_t kPasses = 10;
#endif

// What the writers store and the readers ask, fixed before any thread starts. Keys share contexts and guards so
// that the scans meet other entries of their scope.
struct Workload {
  std::vector<SemanticKey> keys;
  std::vector<std::vector<float>> vectors;
  std::vector<std::vector<float>> queries;  // at cosine 0.99 from each key's vector
  std::vector<SemanticAnswer> answers;      // varied lengths, so that max_bytes bites as well as capacity

  Workload() {
    std::mt19937_64 random(1);
    for (uint32_t key = 0; key < kStoredKeys; ++key) {
      keys.push_back({.context = key % 4, .exact = key, .guard = key % 3});
      vectors.push_back(testing::random_unit(random, kStressDims));
      queries.push_back(testing::at_cosine(vectors.back(), 0.99, random));
      answers.push_back({.text = "entry " + std::to_string(key) + " " + std::string(key % 7 * 40, 'x'),
                         .finish_reason = key % 2 ? "stop" : "length",
                         .completion_tokens = key});
    }
  }
};

const Workload& workload() {
  static const Workload instance;
  return instance;
}

SemanticStoreOptions stress_options() {
  SemanticStoreOptions options{.dims = kStressDims, .capacity = kCapacity, .ttl_seconds = 1, .threshold = 0.95f};
  const SemanticStore probe(options);
  options.max_bytes = kCapacity * probe.bytes_of(workload().answers[3]);  // the average answer's bytes
  return options;
}

struct StoreTally {
  uint64_t wrong = 0;  // hits a writer never stored under a matching key, or with the wrong similarity
  uint64_t exact_hits = 0, exact_misses = 0;
  uint64_t similar_hits = 0, similar_misses = 0;
};

bool same_answer(const SemanticAnswer& a, const SemanticAnswer& b) {
  return a.text == b.text && a.finish_reason == b.finish_reason && a.completion_tokens == b.completion_tokens;
}

void check_similar_hit(const SemanticHit& hit, uint32_t asked, StoreTally& tally) {
  const Workload& w = workload();
  const uint32_t found = hit.answer.completion_tokens;  // names the key it was stored under, if it is one of ours
  if (found >= kStoredKeys || !same_answer(hit.answer, w.answers[found])) {
    ++tally.wrong;
    return;
  }
  const double cosine = testing::cosine_of(w.queries[asked], w.vectors[found]);
  tally.wrong += w.keys[found].context != w.keys[asked].context || w.keys[found].guard != w.keys[asked].guard ||
                 hit.similarity < 0.95f || std::abs(hit.similarity - cosine) > 1e-4;
}

void read_until(const SemanticStore& store, const std::atomic<int64_t>& clock, const std::atomic<bool>& done,
                uint64_t seed, StoreTally& tally) {
  const Workload& w = workload();
  std::mt19937_64 random(seed);
  do {
    for (int i = 0; i < 64; ++i) {
      const uint32_t key = random() % kStoredKeys;
      const int64_t now = clock.load(std::memory_order_relaxed);
      if (const std::optional<SemanticHit> hit = store.find_exact(w.keys[key], now)) {
        ++tally.exact_hits;
        tally.wrong += !same_answer(hit->answer, w.answers[key]) || hit->similarity != 1.0f;
      } else {
        ++tally.exact_misses;
      }
      const SemanticKey asking{.context = w.keys[key].context, .exact = kStoredKeys + key, .guard = w.keys[key].guard};
      if (const std::optional<SemanticHit> hit = store.find_similar(asking, w.queries[key], now)) {
        ++tally.similar_hits;
        check_similar_hit(*hit, key, tally);
      } else {
        ++tally.similar_misses;
      }
    }
  } while (!done.load(std::memory_order_acquire));
}

// Each insert advances the shared clock: by 1 ms in even passes, where the one-second ttl outlasts the capacity and
// entries are evicted, by 10 ms in odd ones, where they expire first.
void write(SemanticStore& store, std::atomic<int64_t>& clock, uint32_t writer) {
  const Workload& w = workload();
  for (uint32_t pass = 0; pass < kPasses; ++pass) {
    const int64_t step_ms = pass % 2 == 0 ? 1 : 10;
    for (uint32_t i = 0; i < kKeysPerWriter; ++i) {
      const uint32_t key = writer * kKeysPerWriter + (i * 7 + pass) % kKeysPerWriter;
      store.insert(w.keys[key], w.vectors[key], w.answers[key], clock.fetch_add(step_ms, std::memory_order_relaxed));
    }
  }
}

TEST(SemanticStoreStress, ReadersFindOnlyWhatWritersStoredWhileTheyEvict) {
  SemanticStore store(stress_options());
  std::atomic<int64_t> clock{0};
  std::atomic<bool> writers_done{false};
  std::vector<StoreTally> tallies(kStoreReaders);
  std::latch all_running(kStoreReaders + kWriters);  // the writers start once every reader is running
  std::vector<std::thread> readers;
  for (int reader = 0; reader < kStoreReaders; ++reader) {
    readers.emplace_back([&, reader] {
      all_running.arrive_and_wait();
      read_until(store, clock, writers_done, reader, tallies[reader]);
    });
  }
  std::vector<std::thread> writers;
  for (uint32_t writer = 0; writer < kWriters; ++writer) {
    writers.emplace_back([&, writer] {
      all_running.arrive_and_wait();
      write(store, clock, writer);
    });
  }
  for (std::thread& writer : writers) writer.join();
  writers_done.store(true, std::memory_order_release);
  for (std::thread& reader : readers) reader.join();

  StoreTally all;
  for (const StoreTally& tally : tallies) {
    EXPECT_EQ(tally.wrong, 0u);
    all.exact_hits += tally.exact_hits;
    all.exact_misses += tally.exact_misses;
    all.similar_hits += tally.similar_hits;
    all.similar_misses += tally.similar_misses;
  }
  EXPECT_GT(all.exact_hits, 0u) << "the readers never found an entry present";
  EXPECT_GT(all.exact_misses, 0u) << "the readers never found an entry absent";
  EXPECT_GT(all.similar_hits, 0u);
  EXPECT_GT(all.similar_misses, 0u);

  const SemanticStoreCounters counters = store.counters();
  const SemanticStoreOptions& options = store.options();
  EXPECT_LE(counters.entries, options.capacity);
  EXPECT_LE(counters.bytes, options.max_bytes);
  EXPECT_EQ(counters.inserts - counters.evicted_expired - counters.evicted_for_capacity - counters.evicted_for_bytes,
            counters.entries);
  EXPECT_GT(counters.evicted_for_capacity + counters.evicted_for_bytes, 0u);
  EXPECT_GT(counters.evicted_expired, 0u);

  StoreTally after;  // and alone, every entry left answers for its own key: at time 0, before any expired
  for (uint32_t key = 0; key < kStoredKeys; ++key) {
    if (const std::optional<SemanticHit> hit = store.find_exact(workload().keys[key], 0)) {
      after.wrong += !same_answer(hit->answer, workload().answers[key]);
      ++after.exact_hits;
    }
  }
  EXPECT_EQ(after.wrong, 0u);
  EXPECT_EQ(after.exact_hits, counters.entries);
}

}  // namespace
}  // namespace rs::cache
