#include "core/kv/kv_cache_manager.h"

#include <stdexcept>

namespace rs::kv {

KvCacheManager::KvCacheManager(uint32_t n_blocks, uint32_t block_tokens)
    : block_tokens_(block_tokens), pool_(n_blocks) {
  if (block_tokens_ == 0) throw std::invalid_argument("a KV block must hold at least one token");
}

uint32_t KvCacheManager::blocks_needed(const BlockTable& table, uint32_t positions) const {
  const uint32_t needed = blocks_for(positions);
  return needed > table.size() ? needed - uint32_t(table.size()) : 0;
}

bool KvCacheManager::allocate(BlockTable& table, uint32_t positions) {
  const uint32_t missing = blocks_needed(table, positions);
  if (missing > pool_.free_blocks()) return false;
  for (uint32_t i = 0; i < missing; ++i) table.push_back(*pool_.allocate());
  return true;
}

void KvCacheManager::free(BlockTable& table) {
  for (const BlockId block : table) pool_.release(block);
  table.clear();
}

}  // namespace rs::kv
