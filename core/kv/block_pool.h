#pragma once
// Hands out the KV cache's blocks: a free list over the pool. Only the engine
// thread calls it, through the KV cache manager.
#include <cstdint>
#include <optional>
#include <vector>

#include "core/kv/kv_layout.h"

namespace rs::kv {

class BlockPool {
 public:
  explicit BlockPool(uint32_t n_blocks);

  // A free block, now in use; nullopt when none is free.
  std::optional<BlockId> allocate();
  // `block` is free again. Throws std::logic_error for a block that is not in use.
  void release(BlockId block);

  uint32_t free_blocks() const { return uint32_t(free_.size()); }
  uint32_t total_blocks() const { return uint32_t(in_use_.size()); }

 private:
  std::vector<bool> in_use_;
  std::vector<BlockId> free_;  // a stack: the most recently freed block is reused first (warm in cache)
};

}  // namespace rs::kv
