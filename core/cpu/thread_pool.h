#pragma once
// The executor's worker threads: every parallel region of a forward step is cut
// into chunks that the threads take one at a time, so a thread the OS has
// descheduled (more runnable threads than cores: shards, other processes)
// holds up no work — the others take its chunks. That also lets them run below
// the HTTP shards' priority: a shard that wakes takes the core at once, and the
// chunk it displaced is taken by another thread. Workers spin briefly between
// regions (a step has hundreds) and sleep when the engine is idle; running a
// region allocates nothing.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <thread>
#include <utility>
#include <vector>

namespace rs::cpu {

class ThreadPool {
 public:
  // `threads` in all (0: one per core): the caller of run() is thread 0, plus threads - 1 workers. `nice` is
  // added to the niceness of each (the caller's from its first region on), so that other threads of the
  // process, the HTTP shards, run first when both are ready.
  explicit ThreadPool(unsigned threads, int nice = 0);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  unsigned size() const { return threads_; }

  // Calls task(chunk, thread) once for every chunk in [0, chunks) and returns
  // when all are done. `thread` (< size()) is for per-thread scratch only:
  // which thread runs which chunk varies, so results must not depend on it.
  template <typename Task>
  void run(size_t chunks, Task&& task) {
    run_region(chunks, &task, [](void* t, size_t chunk, unsigned thread) { (*static_cast<Task*>(t))(chunk, thread); });
  }

  // Calls task(begin, end, thread) over [0, n) cut into chunks_for(n, align) ranges.
  template <typename Task>
  void run_ranges(size_t n, size_t align, Task&& task) {
    const size_t chunks = chunks_for(n, align);
    run(chunks, [&](size_t chunk, unsigned thread) {
      const auto [begin, end] = share(n, chunk, chunks, align);
      task(begin, end, thread);
    });
  }

  // Chunks for `n` items: a few per thread, so that the work evens out.
  size_t chunks_for(size_t n, size_t align = 1) const;
  // [begin, end) of `n` items in `chunk` of `chunks`, in `align`-sized pieces.
  static std::pair<size_t, size_t> share(size_t n, size_t chunk, size_t chunks, size_t align = 1);

 private:
  using Trampoline = void (*)(void*, size_t, unsigned);
  void run_region(size_t chunks, void* task, Trampoline trampoline);
  // Runs chunks of region `generation` until none is left or a newer region began.
  void take_chunks(uint32_t generation, unsigned thread);
  void work(unsigned thread);

  unsigned threads_;
  int nice_;
  std::thread::id lowered_caller_;  // the caller whose niceness run() has raised
  std::vector<std::thread> workers_;
  // The current region, published by the release store of next_.
  std::atomic<void*> task_{nullptr};
  std::atomic<Trampoline> trampoline_{nullptr};
  std::atomic<size_t> chunks_{0};
  // The region's generation (high 32 bits) and its next chunk to hand out (low 32 bits):
  // taking a chunk is one compare-exchange that fails once the region is over.
  alignas(64) std::atomic<uint64_t> next_{0};
  alignas(64) std::atomic<size_t> done_{0};  // chunks finished in the current region
  alignas(64) std::atomic<uint32_t> wake_{0};  // bumped per region: sleeping workers wait on it
  std::atomic<bool> stopping_{false};
};

}  // namespace rs::cpu
