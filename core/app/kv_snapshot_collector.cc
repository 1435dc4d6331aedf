#include "core/app/kv_snapshot_collector.h"

#include <fmt/format.h>

#include <stdexcept>

#include "core/kv/block_hash.h"

namespace rs {

KvSnapshotCollector::KvSnapshotCollector(const ModelEngine& model) {
  const kv::KvLayout& kv = model.kv_layout();
  header_.kv_type = uint32_t(kv.type);
  header_.model_identity = model.model_identity();
  header_.salt = model.kv_salt();
  header_.block_tokens = kv.block_tokens;
  header_.block_bytes = kv.block_bytes();
}

void KvSnapshotCollector::collect(engine::Scheduler& scheduler, std::span<const int32_t> prompt) {
  const uint32_t block_tokens = header_.block_tokens;
  std::vector<uint64_t> chain;
  kv::extend_chain(chain, header_.salt, prompt, block_tokens, uint32_t(prompt.size() / block_tokens));
  for (size_t i = 0; i < chain.size(); ++i) {
    if (!taken_.insert(chain[i]).second) continue;
    const std::optional<uint32_t> block = scheduler.kv_cache().index().find(chain[i]);
    if (!block) throw std::logic_error(fmt::format("block {} of a prompt just run is not in the prefix cache", i));
    const std::span<const int32_t> tokens = prompt.subspan(i * block_tokens, block_tokens);
    blocks_.push_back({.hash = chain[i], .parent = i == 0 ? header_.salt : chain[i - 1],
                       .tokens = {tokens.begin(), tokens.end()}});
    kv_.resize(kv_.size() + header_.block_bytes);
    scheduler.executor().read_kv_block(*block, std::span(kv_).last(header_.block_bytes));
  }
}

void KvSnapshotCollector::write(const std::string& path) const {
  cache::write_kv_snapshot(path, header_, blocks_, kv_);
}

}  // namespace rs
