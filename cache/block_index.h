// The prefix cache's index: a full KV block's chain hash → the block that holds it, read without locks.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>

struct cds_lfht;  // liburcu's RCU lock-free hash table; its headers stay out of includers

namespace rs::cache {

// Any thread looks hashes up while one writer (the engine thread) inserts and erases. Lookups are RCU read-side
// sections over liburcu's lock-free hash table; an erased entry is freed only after every section that might
// still see it has ended (a grace period, waited for off the writer's thread).
class BlockIndex {
 public:
  BlockIndex();   // starts small and grows (and shrinks) with its entries
  ~BlockIndex();  // no thread may still be in find()
  BlockIndex(const BlockIndex&) = delete;
  BlockIndex& operator=(const BlockIndex&) = delete;

  // Any thread, concurrently with the writer; lock-free. A thread's first call registers it with RCU (once, under
  // liburcu's registry lock), and it is unregistered when it exits: callers need do nothing.
  std::optional<uint32_t> find(uint64_t hash) const;

  // The one writer thread only.
  void insert(uint64_t hash, uint32_t block);  // throws std::logic_error if the hash is present
  void erase(uint64_t hash);                   // throws std::logic_error if the hash is absent

  size_t size() const;  // entries; any thread

 private:
  cds_lfht* table_;
  std::atomic<size_t> size_{0};  // atomic so that metrics may read it from another thread
};

}  // namespace rs::cache
