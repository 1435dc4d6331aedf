#include "core/kv/block_pool.h"

#include <stdexcept>
#include <string>

namespace rs::kv {

BlockPool::BlockPool(uint32_t n_blocks) : refs_(n_blocks, 0) {
  free_.reserve(n_blocks);
  for (uint32_t b = n_blocks; b > 0; --b) free_.push_back(b - 1);  // block 0 first
}

std::optional<BlockId> BlockPool::allocate() {
  if (free_.empty()) return std::nullopt;
  const BlockId block = free_.back();
  free_.pop_back();
  refs_[block] = 1;
  return block;
}

void BlockPool::retain(BlockId block) {
  if (refs_.at(block) == 0) throw std::logic_error("BlockPool: retain of free block " + std::to_string(block));
  ++refs_[block];
}

void BlockPool::release(BlockId block) {
  if (refs_.at(block) == 0) throw std::logic_error("BlockPool: release of free block " + std::to_string(block));
  if (--refs_[block] == 0) free_.push_back(block);
}

}  // namespace rs::kv
