#include "core/cpu/thread_pool.h"

#include <fmt/format.h>
#include <pthread.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace rs::cpu {
namespace {

void relax() {
#if defined(__x86_64__)
  _mm_pause();
#endif
}

// How long a worker spins for the next region before sleeping: longer than the
// gap between regions of a step, far shorter than an idle engine's wait.
constexpr auto kSpin = std::chrono::microseconds(200);
// How long the caller spins for chunks still running elsewhere before yielding
// its core to the thread that runs them.
constexpr auto kCallerSpin = std::chrono::microseconds(20);
constexpr size_t kChunksPerThread = 4;

// Adds `nice` to the calling thread's niceness (per thread on Linux); lowering one's own priority needs no
// privilege. Best effort: a thread that cannot is only less polite.
void lower_priority(int nice) {
  if (nice <= 0) return;
  const pid_t tid = gettid();
  errno = 0;
  const int current = getpriority(PRIO_PROCESS, tid);
  if (errno == 0) setpriority(PRIO_PROCESS, tid, std::min(current + nice, 19));
}

uint32_t generation_of(uint64_t next) { return uint32_t(next >> 32); }
constexpr uint64_t kClosed = UINT32_MAX;  // a next chunk no region has

}  // namespace

ThreadPool::ThreadPool(unsigned threads, int nice)
    : threads_(threads ? threads : std::max(1u, std::thread::hardware_concurrency())), nice_(nice) {
  for (unsigned t = 1; t < threads_; ++t) {
    workers_.emplace_back([this, t] {
      pthread_setname_np(pthread_self(), fmt::format("compute-{}", t).c_str());  // for top -H
      lower_priority(nice_);
      work(t);
    });
  }
}

ThreadPool::~ThreadPool() {
  stopping_.store(true);
  wake_.fetch_add(1);
  wake_.notify_all();
  for (std::thread& w : workers_) w.join();
}

size_t ThreadPool::chunks_for(size_t n, size_t align) const {
  const size_t pieces = (n + align - 1) / align;
  return std::max<size_t>(1, std::min(pieces, threads_ == 1 ? 1 : threads_ * kChunksPerThread));
}

std::pair<size_t, size_t> ThreadPool::share(size_t n, size_t chunk, size_t chunks, size_t align) {
  const size_t pieces = (n + align - 1) / align;
  const size_t begin = pieces * chunk / chunks * align;
  const size_t end = pieces * (chunk + 1) / chunks * align;
  return {std::min(begin, n), std::min(end, n)};
}

void ThreadPool::take_chunks(uint32_t generation, unsigned thread) {
  uint64_t next = next_.load(std::memory_order_acquire);
  for (;;) {
    if (generation_of(next) != generation) return;
    const size_t chunk = uint32_t(next);
    if (chunk >= chunks_.load(std::memory_order_acquire)) return;
    if (!next_.compare_exchange_weak(next, next + 1, std::memory_order_acq_rel, std::memory_order_acquire)) continue;
    // The chunk is ours, so the region cannot end before done_ counts it: its task is still current.
    trampoline_.load(std::memory_order_relaxed)(task_.load(std::memory_order_relaxed), chunk, thread);
    done_.fetch_add(1, std::memory_order_acq_rel);
    next = next_.load(std::memory_order_acquire);
  }
}

void ThreadPool::run_region(size_t chunks, void* task, Trampoline trampoline) {
  if (chunks == 0) return;
  if (nice_ > 0 && lowered_caller_ != std::this_thread::get_id()) {
    lower_priority(nice_);
    lowered_caller_ = std::this_thread::get_id();
  }
  const uint32_t generation = generation_of(next_.load(std::memory_order_relaxed)) + 1;
  // Closed first: a thread still looking at the last region, which may read
  // this region's chunk count below, can no longer take a chunk.
  next_.store(uint64_t(generation) << 32 | kClosed, std::memory_order_relaxed);
  task_.store(task, std::memory_order_relaxed);
  trampoline_.store(trampoline, std::memory_order_relaxed);
  done_.store(0, std::memory_order_relaxed);
  chunks_.store(chunks, std::memory_order_release);  // whoever sees it sees next_ closed
  next_.store(uint64_t(generation) << 32, std::memory_order_release);
  if (!workers_.empty()) {
    wake_.fetch_add(1, std::memory_order_release);
    wake_.notify_all();
  }
  take_chunks(generation, 0);
  const auto spin_until = std::chrono::steady_clock::now() + kCallerSpin;
  for (unsigned i = 0; done_.load(std::memory_order_acquire) != chunks; ++i) {
    relax();
    if (i % 64 == 63 && std::chrono::steady_clock::now() > spin_until) std::this_thread::yield();
  }
}

void ThreadPool::work(unsigned thread) {
  uint32_t seen = 0;
  for (;;) {
    const auto spin_until = std::chrono::steady_clock::now() + kSpin;
    uint32_t now = wake_.load(std::memory_order_acquire);
    for (unsigned i = 0; now == seen; now = wake_.load(std::memory_order_acquire)) {
      relax();
      if (++i % 256 == 0 && std::chrono::steady_clock::now() > spin_until) wake_.wait(seen, std::memory_order_acquire);
    }
    seen = now;
    if (stopping_.load()) return;
    take_chunks(generation_of(next_.load(std::memory_order_acquire)), thread);
  }
}

}  // namespace rs::cpu
