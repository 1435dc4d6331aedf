#pragma once
// The KV cache as sequences see it: how many blocks a sequence needs for its
// positions, growing its block table, giving blocks back; and the prefix cache
// (all block arithmetic and sharing live here).
//
// Prefix caching: a full, computed block can be cached under its chain hash
// (block_hash.h). A later sequence whose prompt starts with the same chain
// takes those blocks instead of computing them; a block is shared by reference
// count and is never written again. A cached block nobody holds stays cached,
// least recently used first out, until a new block is needed and no block is
// free: then it is evicted. The index of cached blocks is lock-free
// (cache::BlockIndex), so other threads may look chains up; only the engine
// thread calls this class.
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "cache/block_index.h"
#include "core/kv/kv_layout.h"

namespace rs::kv {

// A sequence's blocks: block i holds positions [i × block_tokens, (i + 1) × block_tokens).
using BlockTable = std::vector<BlockId>;

class KvCacheManager {
 public:
  KvCacheManager(uint32_t n_blocks, uint32_t block_tokens);

  uint32_t blocks_for(uint32_t positions) const { return (positions + block_tokens_ - 1) / block_tokens_; }
  // The blocks `table` lacks to hold `positions` positions (0 when it has them).
  uint32_t blocks_needed(const BlockTable& table, uint32_t positions) const;
  // Grows `table` to hold `positions` positions with blocks of its own, evicting cached blocks nobody holds
  // when none is free; false, taking nothing, when too few blocks are free or evictable.
  bool allocate(BlockTable& table, uint32_t positions);
  // Lets go of every block of `table`, which ends empty: a block nobody holds any more is free, or, cached,
  // evictable.
  void free(BlockTable& table);

  // The prefix cache. How many of `chain`'s leading blocks are cached.
  uint32_t cached_prefix(std::span<const uint64_t> chain) const;
  // Appends the blocks cached under `chain` (all of which are: see cached_prefix) to `table`, held by it.
  void take_cached(BlockTable& table, std::span<const uint64_t> chain);
  // `block`, full and computed, is findable under `hash` from now on. Nothing happens when the block is cached
  // already, or when another block holds that hash (two sequences computed the same block at once).
  void cache(BlockId block, uint64_t hash);
  // A free block for a snapshot's `hash`, whose KV the caller writes before the next step, cached and
  // evictable; nullopt when the hash is cached already or no block is free.
  std::optional<BlockId> adopt(uint64_t hash);
  // The free blocks the next `n` calls of adopt() take, in that order (fewer when fewer are free).
  std::vector<BlockId> next_adopted(uint32_t n) const;

  uint32_t block_tokens() const { return block_tokens_; }
  uint32_t total_blocks() const { return uint32_t(refs_.size()); }
  // Blocks a new sequence could have: free ones, and cached ones nobody holds.
  uint32_t free_blocks() const { return uint32_t(free_.size()) + evictable_; }
  uint32_t used_blocks() const { return total_blocks() - free_blocks(); }
  uint32_t cached_blocks() const { return uint32_t(index_.size()); }
  uint64_t evictions() const { return evictions_; }
  const cache::BlockIndex& index() const { return index_; }

 private:
  static constexpr BlockId kNone = UINT32_MAX;

  BlockId take_block();   // a free block, or the least recently used evictable one; there must be one
  void hold(BlockId block);
  void unlink(BlockId block);  // out of the eviction order
  void append(BlockId block);  // the most recently used end of the eviction order

  uint32_t block_tokens_;
  std::vector<uint32_t> refs_;    // holders of each block
  std::vector<uint64_t> hashes_;  // the hash a cached block is indexed under
  std::vector<bool> cached_;
  std::vector<BlockId> free_;     // uncached blocks nobody holds; a stack: the last freed is reused first
  // Cached blocks nobody holds, least recently used first: a list threaded through these arrays.
  std::vector<BlockId> newer_, older_;
  BlockId oldest_ = kNone, newest_ = kNone;
  uint32_t evictable_ = 0;
  uint64_t evictions_ = 0;
  cache::BlockIndex index_;
};

}  // namespace rs::kv
