#pragma once
// Unsent response bytes across every connection of every shard, held under
// --max-unsent-bytes: slow readers can pin no more memory than that, streamed
// or not. Connections take bytes when they queue output and give them back as
// the socket accepts them. Lock-free: one atomic counter shared by the shards.
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace rs::io {

class OutputBudget {
 public:
  explicit OutputBudget(size_t cap) : cap_(cap) {}
  OutputBudget(const OutputBudget&) = delete;
  OutputBudget& operator=(const OutputBudget&) = delete;

  // Takes `bytes` unless that would pass the cap; a refusal is counted, so
  // shards know to close their longest-stalled connections.
  bool try_take(size_t bytes) {
    size_t used = used_.load(std::memory_order_relaxed);
    do {
      if (used + bytes > cap_) {
        refusals_.fetch_add(1, std::memory_order_relaxed);
        return false;
      }
    } while (!used_.compare_exchange_weak(used, used + bytes, std::memory_order_relaxed));
    return true;
  }
  // Output that is always let through (response heads, small bodies, error answers).
  void take(size_t bytes) { used_.fetch_add(bytes, std::memory_order_relaxed); }
  void give_back(size_t bytes) { used_.fetch_sub(bytes, std::memory_order_relaxed); }

  size_t used() const { return used_.load(std::memory_order_relaxed); }
  size_t cap() const { return cap_; }
  uint64_t refusals() const { return refusals_.load(std::memory_order_relaxed); }

 private:
  const size_t cap_;
  std::atomic<size_t> used_{0};
  std::atomic<uint64_t> refusals_{0};
};

}  // namespace rs::io
