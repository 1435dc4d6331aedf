// The block-hash index, one thread at a time: what find() answers after inserts and erases, growth past the
// initial size, misuse refused, and reader threads that come and go.
#include "cache/block_index.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <optional>
#include <stdexcept>
#include <thread>

namespace rs::cache {
namespace {

TEST(BlockIndex, StartsEmpty) {
  const BlockIndex index;
  EXPECT_EQ(index.size(), 0u);
  EXPECT_EQ(index.find(0), std::nullopt);
  EXPECT_EQ(index.find(42), std::nullopt);
}

TEST(BlockIndex, FindsWhatWasInsertedAndNothingElse) {
  BlockIndex index;
  index.insert(0x1234, 7);
  index.insert(0, 8);                                       // every 64-bit value is a hash, the extremes too
  index.insert(std::numeric_limits<uint64_t>::max(), 9);
  EXPECT_EQ(index.find(0x1234), 7u);
  EXPECT_EQ(index.find(0), 8u);
  EXPECT_EQ(index.find(std::numeric_limits<uint64_t>::max()), 9u);
  EXPECT_EQ(index.find(0x1235), std::nullopt);
  EXPECT_EQ(index.size(), 3u);
}

TEST(BlockIndex, EraseRemovesOnlyThatHashAndAllowsReinsertingIt) {
  BlockIndex index;
  index.insert(1, 10);
  index.insert(2, 20);
  index.erase(1);
  EXPECT_EQ(index.find(1), std::nullopt);
  EXPECT_EQ(index.find(2), 20u);
  EXPECT_EQ(index.size(), 1u);
  index.insert(1, 11);  // the same hash, now in another block
  EXPECT_EQ(index.find(1), 11u);
  EXPECT_EQ(index.size(), 2u);
}

TEST(BlockIndex, GrowsAndShrinksWithItsEntries) {
  constexpr uint32_t kEntries = 100'000;  // far past the initial buckets
  const auto hash_of = [](uint32_t i) { return uint64_t{i} * 0x9E3779B97F4A7C15ull; };
  BlockIndex index;
  for (uint32_t i = 0; i < kEntries; ++i) index.insert(hash_of(i), i);
  EXPECT_EQ(index.size(), kEntries);
  for (uint32_t i = 0; i < kEntries; ++i) ASSERT_EQ(index.find(hash_of(i)), i) << i;
  for (uint32_t i = 0; i < kEntries; i += 2) index.erase(hash_of(i));
  EXPECT_EQ(index.size(), kEntries / 2);
  for (uint32_t i = 0; i < kEntries; ++i) {
    ASSERT_EQ(index.find(hash_of(i)), i % 2 == 0 ? std::nullopt : std::optional<uint32_t>(i)) << i;
  }
}

TEST(BlockIndex, InsertingAPresentHashThrowsAndKeepsTheEntry) {
  BlockIndex index;
  index.insert(5, 50);
  EXPECT_THROW(index.insert(5, 51), std::logic_error);
  EXPECT_EQ(index.find(5), 50u);
  EXPECT_EQ(index.size(), 1u);
}

TEST(BlockIndex, ErasingAnAbsentHashThrows) {
  BlockIndex index;
  EXPECT_THROW(index.erase(5), std::logic_error);
  index.insert(5, 50);
  index.erase(5);
  EXPECT_THROW(index.erase(5), std::logic_error);  // erased already
  EXPECT_EQ(index.size(), 0u);
}

TEST(BlockIndex, ThreadsThatComeAndGoCanRead) {
  BlockIndex index;
  index.insert(3, 30);
  for (int i = 0; i < 50; ++i) {  // each thread registers with RCU on its first find and unregisters as it exits
    std::optional<uint32_t> found;
    std::thread([&] { found = index.find(3); }).join();
    ASSERT_EQ(found, 30u);
  }
}

TEST(BlockIndex, IndexesAreIndependent) {
  BlockIndex a, b;
  a.insert(1, 10);
  b.insert(1, 20);
  EXPECT_EQ(a.find(1), 10u);
  EXPECT_EQ(b.find(1), 20u);
  a.erase(1);
  EXPECT_EQ(b.find(1), 20u);
}

}  // namespace
}  // namespace rs::cache
