#include "core/kv/kv_cache_manager.h"

#include <stdexcept>
#include <string>

namespace rs::kv {

KvCacheManager::KvCacheManager(uint32_t n_blocks, uint32_t block_tokens)
    : block_tokens_(block_tokens),
      refs_(n_blocks, 0),
      hashes_(n_blocks, 0),
      cached_(n_blocks, false),
      newer_(n_blocks, kNone),
      older_(n_blocks, kNone) {
  if (block_tokens_ == 0) throw std::invalid_argument("a KV block must hold at least one token");
  free_.reserve(n_blocks);
  for (uint32_t b = n_blocks; b > 0; --b) free_.push_back(b - 1);  // block 0 first
}

uint32_t KvCacheManager::blocks_needed(const BlockTable& table, uint32_t positions) const {
  const uint32_t needed = blocks_for(positions);
  return needed > table.size() ? needed - uint32_t(table.size()) : 0;
}

bool KvCacheManager::allocate(BlockTable& table, uint32_t positions) {
  const uint32_t missing = blocks_needed(table, positions);
  if (missing > free_blocks()) return false;
  for (uint32_t i = 0; i < missing; ++i) table.push_back(take_block());
  return true;
}

BlockId KvCacheManager::take_block() {
  BlockId block;
  if (!free_.empty()) {
    block = free_.back();
    free_.pop_back();
  } else {  // evict the least recently used cached block nobody holds
    block = oldest_;
    unlink(block);
    index_.erase(hashes_[block]);
    cached_[block] = false;
    ++evictions_;
  }
  refs_[block] = 1;
  return block;
}

// Last block first: a sequence's tail is evicted before its head, which later prompts are likelier to share.
void KvCacheManager::free(BlockTable& table) {
  for (auto it = table.rbegin(); it != table.rend(); ++it) {
    const BlockId block = *it;
    if (refs_.at(block) == 0) throw std::logic_error("KvCacheManager: free of unheld block " + std::to_string(block));
    if (--refs_[block] > 0) continue;
    if (cached_[block]) append(block);
    else free_.push_back(block);
  }
  table.clear();
}

uint32_t KvCacheManager::cached_prefix(std::span<const uint64_t> chain) const {
  uint32_t n = 0;
  while (n < chain.size() && index_.find(chain[n])) ++n;
  return n;
}

void KvCacheManager::take_cached(BlockTable& table, std::span<const uint64_t> chain) {
  for (const uint64_t hash : chain) {
    const std::optional<uint32_t> block = index_.find(hash);
    if (!block) throw std::logic_error("KvCacheManager: take_cached of a block not cached");
    hold(*block);
    table.push_back(*block);
  }
}

void KvCacheManager::hold(BlockId block) {
  if (refs_[block]++ == 0) unlink(block);  // held again: out of the eviction order
}

void KvCacheManager::cache(BlockId block, uint64_t hash) {
  if (cached_.at(block) || index_.find(hash)) return;
  index_.insert(hash, block);
  hashes_[block] = hash;
  cached_[block] = true;
}

// Only free blocks: loading a snapshot bigger than the pool must not evict what it loaded before.
std::optional<BlockId> KvCacheManager::adopt(uint64_t hash) {
  if (index_.find(hash) || free_.empty()) return std::nullopt;
  const BlockId block = take_block();
  cache(block, hash);
  refs_[block] = 0;  // nobody holds it: evictable, as any cached block
  append(block);
  return block;
}

std::vector<BlockId> KvCacheManager::next_adopted(uint32_t n) const {
  return {free_.rbegin(), free_.rbegin() + std::min<size_t>(n, free_.size())};
}

void KvCacheManager::unlink(BlockId block) {
  const BlockId newer = newer_[block], older = older_[block];
  (older == kNone ? oldest_ : newer_[older]) = newer;
  (newer == kNone ? newest_ : older_[newer]) = older;
  newer_[block] = older_[block] = kNone;
  --evictable_;
}

void KvCacheManager::append(BlockId block) {
  older_[block] = newest_;
  newer_[block] = kNone;
  (newest_ == kNone ? oldest_ : newer_[newest_]) = block;
  newest_ = block;
  ++evictable_;
}

}  // namespace rs::kv
