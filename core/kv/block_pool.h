#pragma once
// Hands out the KV cache's blocks. Blocks are refcounted so that a prefix
// cache can share one block among sequences; only the engine thread calls it.
#include <cstdint>
#include <optional>
#include <vector>

#include "core/kv/kv_layout.h"

namespace rs::kv {

class BlockPool {
 public:
  explicit BlockPool(uint32_t n_blocks);

  // A block with one reference, or nullopt when none is free.
  std::optional<BlockId> allocate();
  // Another holder of `block`.
  void retain(BlockId block);
  // Drops one reference; the block is free again after the last one.
  void release(BlockId block);

  uint32_t free_blocks() const { return uint32_t(free_.size()); }
  uint32_t total_blocks() const { return uint32_t(refs_.size()); }
  uint32_t references(BlockId block) const { return refs_.at(block); }

 private:
  std::vector<uint32_t> refs_;
  std::vector<BlockId> free_;  // a stack: the most recently freed block is reused first (warm in cache)
};

}  // namespace rs::kv
