#include "cache/eviction_order.h"

#include <algorithm>
#include <stdexcept>

namespace rs::cache {

EvictionOrder::EvictionOrder(uint32_t slots)
    : older_(slots, kNone), newer_(slots, kNone), generation_(slots, 0), present_(slots, false) {
  heap_.reserve(slots);
}

void EvictionOrder::add(uint32_t slot, int64_t inserted_ms) {
  if (present_.at(slot)) throw std::logic_error("EvictionOrder::add: the slot is present");
  present_[slot] = true;
  ++size_;
  older_[slot] = newest_;
  newer_[slot] = kNone;
  (newest_ == kNone ? oldest_ : newer_[newest_]) = slot;
  newest_ = slot;

  // Records of removed entries stay until they surface; past twice the slots, drop them all in one O(n) pass.
  if (heap_.size() >= 2 * present_.size()) {
    std::erase_if(heap_, [&](const Record& record) { return stale(record); });
    std::make_heap(heap_.begin(), heap_.end(), later);
  }
  heap_.push_back({inserted_ms, slot, ++generation_[slot]});
  std::push_heap(heap_.begin(), heap_.end(), later);
}

void EvictionOrder::remove(uint32_t slot) {
  if (!present_.at(slot)) throw std::logic_error("EvictionOrder::remove: the slot is absent");
  present_[slot] = false;
  --size_;
  (older_[slot] == kNone ? oldest_ : newer_[older_[slot]]) = newer_[slot];
  (newer_[slot] == kNone ? newest_ : older_[newer_[slot]]) = older_[slot];
}

std::optional<uint32_t> EvictionOrder::oldest_inserted() const {
  if (oldest_ == kNone) return std::nullopt;
  return oldest_;
}

bool EvictionOrder::stale(const Record& record) const {
  return !present_[record.slot] || generation_[record.slot] != record.generation;
}

uint32_t EvictionOrder::least_recently_hit(const std::function<int64_t(uint32_t)>& last_hit) {
  if (size_ == 0) throw std::logic_error("EvictionOrder::least_recently_hit: nothing is present");
  while (true) {
    std::pop_heap(heap_.begin(), heap_.end(), later);
    Record& top = heap_.back();
    if (stale(top)) {
      heap_.pop_back();
      continue;
    }
    const int64_t now_last_hit = last_hit(top.slot);
    const bool hit_since = now_last_hit > top.last_hit_ms;
    top.last_hit_ms = std::max(top.last_hit_ms, now_last_hit);
    const uint32_t slot = top.slot;
    std::push_heap(heap_.begin(), heap_.end(), later);  // back in, so that the slot keeps its one live record
    // Not hit since: every other present slot was last hit no earlier than its record, and none is below this one.
    if (!hit_since) return slot;
  }
}

}  // namespace rs::cache
