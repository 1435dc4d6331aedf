// The KV cache manager: block arithmetic for a sequence's positions, growing
// tables all or nothing, blocks given back, and a pool that cannot hand out a
// block twice.
#include "core/kv/kv_cache_manager.h"

#include <gtest/gtest.h>

#include <set>
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

TEST(BlockPool, ABlockIsNeverHandedOutTwiceNorFreedTwice) {
  BlockPool pool(3);
  std::set<BlockId> taken;
  for (int i = 0; i < 3; ++i) taken.insert(*pool.allocate());
  EXPECT_EQ(taken.size(), 3u);
  EXPECT_FALSE(pool.allocate());
  pool.release(1);
  EXPECT_THROW(pool.release(1), std::logic_error);
  EXPECT_EQ(*pool.allocate(), 1u);  // the most recently freed block first: warm in cache
  EXPECT_THROW(pool.release(7), std::out_of_range);
}

}  // namespace
}  // namespace rs::kv
