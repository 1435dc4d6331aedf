#pragma once
// The executor's worker threads: every parallel region of a forward step runs
// on all of them at once. Workers spin briefly between regions (a step has
// hundreds) and sleep when the engine is idle; running a region allocates nothing.
#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

namespace rs::engine {

class ThreadPool {
 public:
  // `threads` in all: the caller of run() is thread 0, plus threads - 1 workers.
  explicit ThreadPool(unsigned threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  unsigned size() const { return threads_; }

  // Calls task(thread, threads) on every thread and returns when all are done.
  template <typename Task>
  void run(Task&& task) {
    run_region(&task, [](void* t, unsigned thread, unsigned threads) { (*static_cast<Task*>(t))(thread, threads); });
  }

  // [begin, end) of `n` items for `thread` of `threads`, in `align`-sized pieces.
  static std::pair<size_t, size_t> share(size_t n, unsigned thread, unsigned threads, size_t align = 1);

 private:
  using Trampoline = void (*)(void*, unsigned, unsigned);
  void run_region(void* task, Trampoline trampoline);
  void work(unsigned thread);

  unsigned threads_;
  std::vector<std::thread> workers_;
  void* task_ = nullptr;
  Trampoline trampoline_ = nullptr;
  alignas(64) std::atomic<uint64_t> generation_{0};  // bumped to start a region
  alignas(64) std::atomic<unsigned> finished_{0};    // workers done with the current region
  std::atomic<bool> stopping_{false};
};

}  // namespace rs::engine
