#include "core/kv/block_pool.h"

#include <stdexcept>
#include <string>

namespace rs::kv {

BlockPool::BlockPool(uint32_t n_blocks) : in_use_(n_blocks, false) {
  free_.reserve(n_blocks);
  for (uint32_t b = n_blocks; b > 0; --b) free_.push_back(b - 1);  // block 0 first
}

std::optional<BlockId> BlockPool::allocate() {
  if (free_.empty()) return std::nullopt;
  const BlockId block = free_.back();
  free_.pop_back();
  in_use_[block] = true;
  return block;
}

void BlockPool::release(BlockId block) {
  if (!in_use_.at(block)) throw std::logic_error("BlockPool: release of free block " + std::to_string(block));
  in_use_[block] = false;
  free_.push_back(block);
}

}  // namespace rs::kv
