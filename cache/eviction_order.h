// Which entry a cache gives up next, over entries named by slot numbers: the oldest inserted (for expiry) or the
// least recently hit. Readers record hits lock-free elsewhere (an atomic per entry); only the writer uses this.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

namespace rs::cache {

class EvictionOrder {
 public:
  explicit EvictionOrder(uint32_t slots);  // slots 0 … slots − 1, all absent

  // `slot` is absent; it becomes the newest, last hit at `inserted_ms`.
  void add(uint32_t slot, int64_t inserted_ms);
  void remove(uint32_t slot);  // `slot` is present

  uint32_t size() const { return size_; }
  std::optional<uint32_t> oldest_inserted() const;

  // The present slot whose last hit is least recent, as `last_hit(slot)` reads it now; not empty. It stays present
  // until remove(). A last hit only
  // moves forward after add(), so an order by stale times needs fixing only where it is about to evict: a min-heap
  // of (last hit when recorded, slot) whose top is re-read, and re-pushed if it was hit since, until it was not.
  // Each re-push answers one hit at least: amortized O(log n) per eviction and per hit.
  uint32_t least_recently_hit(const std::function<int64_t(uint32_t)>& last_hit);

 private:
  static constexpr uint32_t kNone = UINT32_MAX;

  struct Record {
    int64_t last_hit_ms;
    uint32_t slot;
    uint32_t generation;  // the slot's at the push: a record of an entry since removed is stale
  };
  static bool later(const Record& a, const Record& b) { return a.last_hit_ms > b.last_hit_ms; }

  bool stale(const Record& record) const;

  // Insertion order: a doubly linked list through the slots, oldest first.
  std::vector<uint32_t> older_;
  std::vector<uint32_t> newer_;
  uint32_t oldest_ = kNone;
  uint32_t newest_ = kNone;

  std::vector<uint32_t> generation_;  // bumped by each add() of the slot
  std::vector<bool> present_;
  uint32_t size_ = 0;
  std::vector<Record> heap_;  // min-heap by last hit; holds stale records until they surface or it is compacted
};

}  // namespace rs::cache
