// The block-hash index under concurrent readers and one writer: every value a reader finds is one the writer gave
// that hash, hashes never erased are always found, and the readers really raced the writer. cache_tsan_tests runs
// this file under ThreadSanitizer too.
#include "cache/block_index.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <latch>
#include <optional>
#include <thread>
#include <vector>

namespace rs::cache {
namespace {

constexpr uint32_t kStableKeys = 256;  // inserted before the readers start, never erased
constexpr uint32_t kChurnKeys = 4096;  // inserted and erased every round, so the table grows and shrinks meanwhile
constexpr uint32_t kKeys = kStableKeys + kChurnKeys;
constexpr int kReaders = 4;
#if defined(__SANITIZE_THREAD__)
constexpr uint32_t kRounds = 20;  // ThreadSanitizer runs about ten times slower
#else
constexpr uint32_t kRounds = 100;
#endif
constexpr uint32_t kVersionsPerRound = 2;

// Chain hashes are uniform 64-bit values: a key's hash is its number through SplitMix64's finalizer.
uint64_t hash_of(uint32_t key) {
  uint64_t z = key + 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// A block id names its key and the version the writer gave it, so a reader can tell a value the writer wrote
// from garbage. Stable keys have version 0 only.
uint32_t block_of(uint32_t key, uint32_t version) { return version * kKeys + key; }

bool writer_gave(uint32_t key, uint32_t block) {
  const uint32_t version = block / kKeys;
  const bool version_used = key < kStableKeys ? version == 0 : version >= 1 && version <= kRounds * kVersionsPerRound;
  return block % kKeys == key && version_used;
}

struct Tally {
  uint64_t wrong_values = 0;
  uint64_t stable_misses = 0;
  uint64_t churn_hits = 0;
  uint64_t churn_misses = 0;
};

void read_every_key(const BlockIndex& index, Tally& tally) {
  for (uint32_t key = 0; key < kKeys; ++key) {
    const std::optional<uint32_t> block = index.find(hash_of(key));
    if (!block) {
      ++(key < kStableKeys ? tally.stable_misses : tally.churn_misses);
    } else {
      tally.wrong_values += !writer_gave(key, *block);
      tally.churn_hits += key >= kStableKeys;
    }
  }
}

void insert_stable_keys(BlockIndex& index) {
  for (uint32_t key = 0; key < kStableKeys; ++key) index.insert(hash_of(key), block_of(key, 0));
}

// The writer: each round inserts every churn key, replaces each one (erase, then insert with a new block id) while
// readers may be looking it up, and erases them all.
void churn(BlockIndex& index, uint32_t rounds) {
  for (uint32_t round = 0; round < rounds; ++round) {
    const uint32_t first = round * kVersionsPerRound + 1;
    for (uint32_t key = kStableKeys; key < kKeys; ++key) index.insert(hash_of(key), block_of(key, first));
    for (uint32_t key = kStableKeys; key < kKeys; ++key) {
      index.erase(hash_of(key));
      index.insert(hash_of(key), block_of(key, first + 1));
    }
    for (uint32_t key = kStableKeys; key < kKeys; ++key) index.erase(hash_of(key));
  }
}

void expect_only_stable_keys_left(const BlockIndex& index) {
  EXPECT_EQ(index.size(), kStableKeys);
  for (uint32_t key = 0; key < kKeys; ++key) {
    EXPECT_EQ(index.find(hash_of(key)), key < kStableKeys ? std::optional(block_of(key, 0)) : std::nullopt) << key;
  }
}

TEST(BlockIndexStress, ReadersFindOnlyWhatTheWriterWrote) {
  BlockIndex index;
  insert_stable_keys(index);
  std::atomic<bool> writer_done{false};
  std::vector<Tally> tallies(kReaders);
  std::latch all_running(kReaders + 1);  // the writer starts once every reader is running
  std::vector<std::thread> readers;
  for (Tally& tally : tallies) {
    readers.emplace_back([&] {
      all_running.arrive_and_wait();
      do read_every_key(index, tally);
      while (!writer_done.load(std::memory_order_acquire));
    });
  }
  all_running.arrive_and_wait();
  churn(index, kRounds);
  writer_done.store(true, std::memory_order_release);
  for (std::thread& reader : readers) reader.join();

  Tally all;
  for (const Tally& tally : tallies) {
    EXPECT_EQ(tally.wrong_values, 0u);
    EXPECT_EQ(tally.stable_misses, 0u);
    all.churn_hits += tally.churn_hits;
    all.churn_misses += tally.churn_misses;
  }
  EXPECT_GT(all.churn_hits, 0u) << "the readers never saw a churn key present";
  EXPECT_GT(all.churn_misses, 0u) << "the readers never saw a churn key absent";
  expect_only_stable_keys_left(index);
}

TEST(BlockIndexStress, ReaderThreadsComeAndGoWhileTheWriterChurns) {
  BlockIndex index;
  insert_stable_keys(index);
  std::atomic<bool> writer_done{false};
  Tally tally;
  int threads = 0;
  std::thread spawner([&] {  // one short-lived thread after another: each registers with RCU and leaves
    do {
      std::thread([&] { read_every_key(index, tally); }).join();
      ++threads;
    } while (!writer_done.load(std::memory_order_acquire));
  });
  churn(index, kRounds);
  writer_done.store(true, std::memory_order_release);
  spawner.join();

  EXPECT_GT(threads, 0);
  EXPECT_EQ(tally.wrong_values, 0u);
  EXPECT_EQ(tally.stable_misses, 0u);
  expect_only_stable_keys_left(index);
}

}  // namespace
}  // namespace rs::cache
