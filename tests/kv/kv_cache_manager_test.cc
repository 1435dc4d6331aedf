// The KV cache manager: block arithmetic for a sequence's positions, growing
// tables all or nothing, blocks given back and never handed out twice, and the
// prefix cache's sharing and least-recently-used eviction.
#include "core/kv/kv_cache_manager.h"

#include <gtest/gtest.h>

#include <set>
#include <span>
#include <vector>
#include <stdexcept>

namespace rs::kv {
namespace {

TEST(KvCacheManager, BlocksCoverPositionsInWholeBlocks) {
  const KvCacheManager kv(8, 16);
  EXPECT_EQ(kv.blocks_for(0), 0u);
  EXPECT_EQ(kv.blocks_for(1), 1u);
  EXPECT_EQ(kv.blocks_for(16), 1u);
  EXPECT_EQ(kv.blocks_for(17), 2u);
  const BlockTable two = {3, 5};
  EXPECT_EQ(kv.blocks_needed(two, 32), 0u);
  EXPECT_EQ(kv.blocks_needed(two, 33), 1u);
  EXPECT_EQ(kv.blocks_needed(two, 20), 0u);  // a table never shrinks for fewer positions
}

TEST(KvCacheManager, AllocationGrowsATableAllOrNothing) {
  KvCacheManager kv(4, 16);
  BlockTable a, b;
  ASSERT_TRUE(kv.allocate(a, 40));  // 3 blocks
  EXPECT_EQ(a.size(), 3u);
  EXPECT_EQ(kv.free_blocks(), 1u);
  EXPECT_EQ(kv.used_blocks(), 3u);
  EXPECT_FALSE(kv.allocate(b, 17));  // 2 blocks, 1 free: nothing taken
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(kv.free_blocks(), 1u);
  ASSERT_TRUE(kv.allocate(a, 64));  // the 4th
  EXPECT_EQ(std::set<BlockId>(a.begin(), a.end()), (std::set<BlockId>{0, 1, 2, 3}));
  kv.free(a);
  EXPECT_TRUE(a.empty());
  EXPECT_EQ(kv.free_blocks(), 4u);
  ASSERT_TRUE(kv.allocate(b, 17));
}

TEST(KvCacheManager, ZeroTokenBlocksAreRefused) { EXPECT_THROW(KvCacheManager(4, 0), std::invalid_argument); }

TEST(KvCacheManager, ABlockIsNeverHandedOutTwiceNorLetGoTwice) {
  KvCacheManager kv(3, 16);
  BlockTable table;
  ASSERT_TRUE(kv.allocate(table, 48));
  EXPECT_EQ(std::set<BlockId>(table.begin(), table.end()).size(), 3u);
  BlockTable more;
  EXPECT_FALSE(kv.allocate(more, 1));
  BlockTable copy = table;
  kv.free(table);
  EXPECT_THROW(kv.free(copy), std::logic_error);
}

// The prefix cache: cached blocks outlive their holders, are shared, and go least recently used first.
TEST(KvCacheManager, CachedBlocksAreSharedAndEvictedLeastRecentlyUsedFirst) {
  KvCacheManager kv(4, 16);
  BlockTable a, b;
  ASSERT_TRUE(kv.allocate(a, 32));  // blocks for two chains' first blocks
  kv.cache(a[0], 100);
  kv.cache(a[1], 200);
  kv.cache(a[1], 999);  // already cached: stays under 200
  ASSERT_TRUE(kv.allocate(b, 16));
  kv.cache(b[0], 100);  // the hash is another block's: b[0] stays uncached
  EXPECT_EQ(kv.cached_blocks(), 2u);
  const std::vector<uint64_t> chain = {100, 200, 300};
  EXPECT_EQ(kv.cached_prefix(chain), 2u);
  kv.free(b);  // uncached: free at once
  EXPECT_EQ(kv.free_blocks(), 2u);
  kv.free(a);  // cached: evictable, and still cached
  EXPECT_EQ(kv.free_blocks(), 4u);
  EXPECT_EQ(kv.used_blocks(), 0u);
  EXPECT_EQ(kv.cached_prefix(chain), 2u);

  BlockTable c;
  kv.take_cached(c, std::span(chain).first(1));  // 100 held again: out of the eviction order
  EXPECT_EQ(kv.free_blocks(), 3u);
  BlockTable d;
  ASSERT_TRUE(kv.allocate(d, 48));  // the 2 free blocks, then evicts 200 (100 is held)
  EXPECT_EQ(kv.evictions(), 1u);
  EXPECT_EQ(kv.cached_prefix(chain), 1u);
  EXPECT_FALSE(kv.index().find(200));
  EXPECT_EQ(*kv.index().find(100), c[0]);
  EXPECT_FALSE(kv.allocate(d, 64));  // the held block is not evictable
  kv.free(c);
  kv.free(d);
  EXPECT_EQ(kv.used_blocks(), 0u);
}

TEST(KvCacheManager, EvictionFollowsTheOrderBlocksWereLetGo) {
  KvCacheManager kv(3, 1);
  BlockTable t1, t2, t3;
  ASSERT_TRUE(kv.allocate(t1, 1));
  ASSERT_TRUE(kv.allocate(t2, 1));
  ASSERT_TRUE(kv.allocate(t3, 1));
  kv.cache(t1[0], 1);
  kv.cache(t2[0], 2);
  kv.cache(t3[0], 3);
  kv.free(t2);
  kv.free(t1);
  kv.free(t3);  // eviction order: 2, 1, 3
  BlockTable taken;
  kv.take_cached(taken, std::vector<uint64_t>{1});  // 1 is used again: order 2, 3, then 1 when let go
  kv.free(taken);
  BlockTable fresh;
  ASSERT_TRUE(kv.allocate(fresh, 1));
  EXPECT_FALSE(kv.index().find(2));
  ASSERT_TRUE(kv.allocate(fresh, 2));
  EXPECT_FALSE(kv.index().find(3));
  EXPECT_TRUE(kv.index().find(1));
  EXPECT_EQ(kv.evictions(), 2u);
}

}  // namespace
}  // namespace rs::kv

namespace rs::kv {
namespace {

TEST(KvCacheManager, AdoptedBlocksAreCachedAndEvictable) {
  KvCacheManager kv(2, 16);
  const std::optional<BlockId> a = kv.adopt(11);
  ASSERT_TRUE(a);
  EXPECT_EQ(kv.index().find(11), a);
  EXPECT_EQ(kv.free_blocks(), 2u);  // cached, held by nobody
  EXPECT_FALSE(kv.adopt(11));       // cached already
  ASSERT_TRUE(kv.adopt(22));
  EXPECT_FALSE(kv.adopt(33));  // every block is a cached one now: a snapshot never evicts its own blocks
  BlockTable t;
  ASSERT_TRUE(kv.allocate(t, 16));  // a sequence's need evicts the least recently adopted
  EXPECT_FALSE(kv.index().find(11));
  EXPECT_EQ(kv.evictions(), 1u);
}

TEST(KvCacheManager, NextAdoptedNamesTheBlocksAdoptTakesInOrder) {
  KvCacheManager kv(4, 16);
  BlockTable t;
  ASSERT_TRUE(kv.allocate(t, 16));  // one block taken: three free
  const std::vector<BlockId> next = kv.next_adopted(5);
  ASSERT_EQ(next.size(), 3u);
  EXPECT_EQ(kv.next_adopted(2), std::vector<BlockId>(next.begin(), next.begin() + 2));
  for (uint64_t hash = 1; hash <= 3; ++hash) EXPECT_EQ(kv.adopt(hash * 11), next[hash - 1]);
  EXPECT_TRUE(kv.next_adopted(1).empty());
}

}  // namespace
}  // namespace rs::kv
