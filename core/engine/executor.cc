#include "core/engine/executor.h"

#include <fmt/format.h>

#include <stdexcept>

namespace rs::engine {

void check_kv_block(const kv::KvLayout& kv, kv::BlockId block, size_t bytes) {
  if (block >= kv.n_blocks) throw std::invalid_argument(fmt::format("KV block {} is outside the pool", block));
  if (bytes != kv.block_bytes()) {
    throw std::invalid_argument(fmt::format("a KV block is {} bytes, not {}", kv.block_bytes(), bytes));
  }
}

void Executor::sample(std::span<const SampleRow> rows, Logits& logits, std::span<sampler::Sampled> out) {
  for (size_t i = 0; i < rows.size(); ++i) out[i] = rows[i].sampler->sample(logits.row(rows[i].row));
}

void check_batch(const Batch& batch, const kv::KvLayout& kv, size_t vocab) {
  for (const SequenceStep& s : batch.sequences) {
    const uint64_t end = uint64_t(s.position) + s.tokens.size();
    if (s.logits > s.tokens.size()) {
      throw std::invalid_argument(fmt::format("a sequence of {} new tokens wants {} rows of logits", s.tokens.size(),
                                              s.logits));
    }
    if (uint64_t(s.blocks.size()) * kv.block_tokens < end) {
      throw std::invalid_argument(fmt::format("a sequence reaching position {} has only {} KV blocks", end,
                                              s.blocks.size()));
    }
    for (const BlockId b : s.blocks) {
      if (b >= kv.n_blocks) throw std::invalid_argument(fmt::format("KV block {} is outside the pool", b));
    }
    for (const TokenId id : s.tokens) {
      if (id < 0 || uint32_t(id) >= vocab) {
        throw std::invalid_argument(fmt::format("token id {} is outside the vocabulary", id));
      }
    }
  }
}

}  // namespace rs::engine
