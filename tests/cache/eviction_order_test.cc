// The eviction order: insertion order for expiry, and the least recently hit by last-hit times that move after
// the slot was added, checked against a brute-force reference under random churn.
#include "cache/eviction_order.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <optional>
#include <random>
#include <stdexcept>
#include <vector>

namespace rs::cache {
namespace {

TEST(EvictionOrder, OldestInsertedFollowsAddsAndRemoves) {
  EvictionOrder order(4);
  EXPECT_EQ(order.oldest_inserted(), std::nullopt);
  order.add(2, 10);
  order.add(0, 11);
  order.add(3, 12);
  EXPECT_EQ(order.oldest_inserted(), 2u);
  order.remove(0);  // from the middle
  order.remove(2);  // the oldest
  EXPECT_EQ(order.oldest_inserted(), 3u);
  order.add(2, 13);  // a slot comes back as the newest
  order.remove(3);
  EXPECT_EQ(order.oldest_inserted(), 2u);
  EXPECT_EQ(order.size(), 1u);
}

TEST(EvictionOrder, LeastRecentlyHitReadsTheHitsSinceTheAdd) {
  EvictionOrder order(3);
  std::vector<int64_t> last_hit = {1, 2, 3};
  const auto read = [&](uint32_t slot) { return last_hit[slot]; };
  for (uint32_t slot = 0; slot < 3; ++slot) order.add(slot, last_hit[slot]);
  EXPECT_EQ(order.least_recently_hit(read), 0u);
  EXPECT_EQ(order.least_recently_hit(read), 0u) << "it stays present until removed";
  last_hit[0] = 10;  // hit
  EXPECT_EQ(order.least_recently_hit(read), 1u);
  last_hit[1] = 11;
  last_hit[2] = 12;
  EXPECT_EQ(order.least_recently_hit(read), 0u);
  order.remove(0);
  EXPECT_EQ(order.least_recently_hit(read), 1u);
}

TEST(EvictionOrder, EmptyOrderAndMisuseThrow) {
  EvictionOrder order(2);
  EXPECT_THROW(order.least_recently_hit([](uint32_t) { return int64_t{0}; }), std::logic_error);
  EXPECT_THROW(order.remove(1), std::logic_error);
  order.add(1, 0);
  EXPECT_THROW(order.add(1, 0), std::logic_error);
}

// Random adds, removes (stale heap records), hits and evictions, far past the heap's compaction point: each answer
// is the slot a scan of every present slot names (ties broken by the order, so compared by time).
TEST(EvictionOrder, AgreesWithABruteForceScanUnderChurn) {
  constexpr uint32_t kSlots = 64;
  EvictionOrder order(kSlots);
  std::vector<int64_t> last_hit(kSlots, 0);
  std::vector<int64_t> inserted(kSlots, 0);
  std::vector<bool> present(kSlots, false);
  const auto read = [&](uint32_t slot) { return last_hit[slot]; };
  std::mt19937_64 random(1);
  int64_t now = 0;
  for (int step = 0; step < 100'000; ++step) {
    ++now;
    const uint32_t slot = random() % kSlots;
    switch (random() % 4) {
      case 0:
        if (!present[slot]) {
          order.add(slot, now);
          present[slot] = true;
          last_hit[slot] = inserted[slot] = now;
        }
        break;
      case 1:
        if (present[slot]) {
          order.remove(slot);
          present[slot] = false;
        }
        break;
      case 2:
        if (present[slot]) last_hit[slot] = now;
        break;
      default:
        if (order.size() == 0) break;
        int64_t least = std::numeric_limits<int64_t>::max();
        std::optional<uint32_t> oldest;
        for (uint32_t s = 0; s < kSlots; ++s) {
          if (!present[s]) continue;
          least = std::min(least, last_hit[s]);
          if (!oldest || inserted[s] < inserted[*oldest]) oldest = s;
        }
        const uint32_t evicted = order.least_recently_hit(read);
        ASSERT_TRUE(present[evicted]) << step;
        ASSERT_EQ(last_hit[evicted], least) << step;
        ASSERT_EQ(order.oldest_inserted(), oldest) << step;
        order.remove(evicted);
        present[evicted] = false;
    }
  }
}

}  // namespace
}  // namespace rs::cache
