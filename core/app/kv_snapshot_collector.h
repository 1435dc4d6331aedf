#pragma once
// What `ringserve warm` writes: the cached KV blocks of the prompts it ran, gathered from the prefix cache on
// the engine thread right after each prompt (before later prompts can evict them), each block once.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <unordered_set>
#include <vector>

#include "cache/kv_snapshot.h"
#include "core/app/model_engine.h"

namespace rs {

class KvSnapshotCollector {
 public:
  explicit KvSnapshotCollector(const ModelEngine& model);

  // On the engine thread (Engine::between_steps), right after `prompt` ran: takes its full blocks that are
  // not taken yet, with their KV bytes. Throws std::logic_error if one is not in the prefix cache.
  void collect(engine::Scheduler& scheduler, std::span<const int32_t> prompt);
  // Writes them to `path` (cache::write_kv_snapshot).
  void write(const std::string& path) const;

  uint32_t blocks() const { return uint32_t(blocks_.size()); }
  uint64_t kv_bytes() const { return kv_.size(); }

 private:
  cache::KvSnapshotHeader header_;
  std::vector<cache::KvSnapshotBlock> blocks_;  // parents before children: in the order prompts met them
  std::vector<std::byte> kv_;                   // their KV, block after block
  std::unordered_set<uint64_t> taken_;
};

}  // namespace rs
