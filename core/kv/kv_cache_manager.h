#pragma once
// The KV cache as sequences see it: how many blocks a sequence needs for its
// positions, growing its block table from the pool, and giving the blocks back.
// All block arithmetic lives here, so that the prefix cache can plug in at one
// place (blocks found by their hash chain, shared, evicted when the pool runs
// short). Only the engine thread calls it.
#include <cstdint>
#include <vector>

#include "core/kv/block_pool.h"

namespace rs::kv {

// A sequence's blocks: block i holds positions [i × block_tokens, (i + 1) × block_tokens).
using BlockTable = std::vector<BlockId>;

class KvCacheManager {
 public:
  KvCacheManager(uint32_t n_blocks, uint32_t block_tokens);

  uint32_t blocks_for(uint32_t positions) const { return (positions + block_tokens_ - 1) / block_tokens_; }
  // The blocks `table` lacks to hold `positions` positions (0 when it has them).
  uint32_t blocks_needed(const BlockTable& table, uint32_t positions) const;
  // Grows `table` to hold `positions` positions; false, taking nothing, when too few blocks are free.
  bool allocate(BlockTable& table, uint32_t positions);
  // Gives back every block of `table`, which ends empty.
  void free(BlockTable& table);

  uint32_t block_tokens() const { return block_tokens_; }
  uint32_t free_blocks() const { return pool_.free_blocks(); }
  uint32_t total_blocks() const { return pool_.total_blocks(); }
  uint32_t used_blocks() const { return total_blocks() - free_blocks(); }

 private:
  uint32_t block_tokens_;
  BlockPool pool_;
};

}  // namespace rs::kv
