#include "core/engine/thread_pool.h"

#include <chrono>
#include <thread>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace rs::engine {
namespace {

void relax() {
#if defined(__x86_64__)
  _mm_pause();
#endif
}

// How long a worker spins for the next region before sleeping: longer than the
// gap between regions of a step, far shorter than an idle engine's wait.
constexpr auto kSpin = std::chrono::microseconds(200);
// How long the caller spins for the workers to finish a region before yielding its core.
constexpr auto kCallerSpin = std::chrono::microseconds(20);

}  // namespace

ThreadPool::ThreadPool(unsigned threads) : threads_(threads == 0 ? 1 : threads) {
  for (unsigned t = 1; t < threads_; ++t) workers_.emplace_back([this, t] { work(t); });
}

ThreadPool::~ThreadPool() {
  stopping_.store(true);
  generation_.fetch_add(1);
  generation_.notify_all();
  for (std::thread& w : workers_) w.join();
}

std::pair<size_t, size_t> ThreadPool::share(size_t n, unsigned thread, unsigned threads, size_t align) {
  const size_t pieces = (n + align - 1) / align;
  const size_t begin = pieces * thread / threads * align;
  const size_t end = pieces * (thread + 1) / threads * align;
  return {begin < n ? begin : n, end < n ? end : n};
}

void ThreadPool::run_region(void* task, Trampoline trampoline) {
  task_ = task;
  trampoline_ = trampoline;
  finished_.store(0, std::memory_order_relaxed);
  generation_.fetch_add(1, std::memory_order_release);
  if (!workers_.empty()) generation_.notify_all();
  trampoline(task, 0, threads_);
  // Spin, then yield: a worker the OS has descheduled (more runnable threads
  // than cores: shards, other processes) gets this core instead of waiting a
  // whole time slice behind a spinning caller.
  const auto spin_until = std::chrono::steady_clock::now() + kCallerSpin;
  for (unsigned i = 0; finished_.load(std::memory_order_acquire) != workers_.size(); ++i) {
    relax();
    if (i % 64 == 63 && std::chrono::steady_clock::now() > spin_until) std::this_thread::yield();
  }
}

void ThreadPool::work(unsigned thread) {
  uint64_t seen = 0;
  for (;;) {
    const auto spin_until = std::chrono::steady_clock::now() + kSpin;
    uint64_t now = generation_.load(std::memory_order_acquire);
    for (unsigned i = 0; now == seen; now = generation_.load(std::memory_order_acquire)) {
      relax();
      if (++i % 256 == 0 && std::chrono::steady_clock::now() > spin_until) {
        generation_.wait(seen, std::memory_order_acquire);
      }
    }
    seen = now;
    if (stopping_.load()) return;
    trampoline_(task_, thread, threads_);
    finished_.fetch_add(1, std::memory_order_acq_rel);
  }
}

}  // namespace rs::engine
