// The pool hands out every chunk exactly once, whichever threads take them,
// finishes a region even when a worker is slow to show up, and computes at
// its niceness.
#include "core/cpu/thread_pool.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

namespace rs::cpu {

namespace {

TEST(ThreadPool, EveryChunkRunsExactlyOnce) {
  for (const unsigned threads : {1u, 2u, 5u}) {
    ThreadPool pool(threads);
    for (const size_t chunks : {size_t{1}, size_t{3}, size_t{64}, size_t{1000}}) {
      std::vector<std::atomic<int>> runs(chunks);
      for (int region = 0; region < 20; ++region) {
        pool.run(chunks, [&](size_t chunk, unsigned thread) {
          ASSERT_LT(thread, threads);
          runs[chunk].fetch_add(1);
        });
      }
      for (size_t c = 0; c < chunks; ++c) EXPECT_EQ(runs[c].load(), 20) << threads << " threads, chunk " << c;
    }
  }
}

// Back-to-back regions of different sizes: a thread still looking at the last
// region must not take a chunk of the next one as its own (this once hung).
TEST(ThreadPool, RegionsOfChangingSizesBackToBack) {
  ThreadPool pool(4);  // more threads than this machine's cores: stragglers are likely
  std::atomic<uint64_t> sum{0};
  uint64_t expected = 0;
  for (size_t region = 0; region < 300000; ++region) {
    const size_t chunks = 1 + region % 8;
    pool.run(chunks, [&](size_t chunk, unsigned) { sum.fetch_add(chunk + 1, std::memory_order_relaxed); });
    expected += chunks * (chunks + 1) / 2;
  }
  EXPECT_EQ(sum.load(), expected);
}

TEST(ThreadPool, RangesCoverEveryItemOnceInAlignedPieces) {
  ThreadPool pool(3);
  for (const size_t n : {size_t{0}, size_t{1}, size_t{15}, size_t{16}, size_t{1000}, size_t{4097}}) {
    std::vector<std::atomic<int>> seen(n);
    pool.run_ranges(n, 16, [&](size_t begin, size_t end, unsigned) {
      EXPECT_EQ(begin % 16, 0u);
      for (size_t i = begin; i < end; ++i) seen[i].fetch_add(1);
    });
    for (size_t i = 0; i < n; ++i) ASSERT_EQ(seen[i].load(), 1) << "n " << n << ", item " << i;
  }
}

// A chunk that stalls (its thread descheduled, say) holds up only itself: the
// other chunks go to the free thread. Here chunk 0 cannot finish until chunk 1
// has run: with a fixed share per thread (chunks 0-3 on one thread) it would
// wait behind itself until it gives up.
TEST(ThreadPool, OtherThreadsTakeTheChunksOfAStalledOne) {
  ThreadPool pool(2);
  for (int region = 0; region < 10; ++region) {
    std::atomic<bool> next_done{false};
    bool waited_out = false;
    pool.run(8, [&](size_t chunk, unsigned) {
      if (chunk == 0) {
        const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (!next_done.load() && std::chrono::steady_clock::now() < give_up) std::this_thread::yield();
        waited_out = !next_done.load();
      }
      if (chunk == 1) next_done = true;
    });
    EXPECT_FALSE(waited_out) << "region " << region;
  }
}

// Compute threads run below the HTTP shards: every thread that takes a chunk, the caller of run() included, has
// the pool's nice added to the niceness it had. In a thread of its own, as the caller keeps its niceness after.
TEST(ThreadPool, ComputeThreadsRunAtThePoolsNiceness) {
  std::thread([] {
    const int before = getpriority(PRIO_PROCESS, gettid());
    ThreadPool pool(3, 5);
    std::vector<int> niceness(64, -100);
    pool.run(niceness.size(), [&](size_t chunk, unsigned) { niceness[chunk] = getpriority(PRIO_PROCESS, gettid()); });
    for (const int n : niceness) EXPECT_EQ(n, std::min(before + 5, 19));
    pool.run(1, [](size_t, unsigned) {});  // a second region lowers the caller no further
    EXPECT_EQ(getpriority(PRIO_PROCESS, gettid()), std::min(before + 5, 19));
  }).join();
  EXPECT_EQ(ThreadPool(0).size(), std::max(1u, std::thread::hardware_concurrency()));
}

}  // namespace
}  // namespace rs::cpu
