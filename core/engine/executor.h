#pragma once
// What runs a model: the scheduler, sampler and caches talk to this and do not
// know whether a CPU or a GPU computes the step.
#include <cstddef>
#include <span>

#include "core/engine/batch.h"
#include "core/kv/kv_layout.h"
#include "core/sampler/sampler.h"

namespace rs::engine {

// A row of the step's logits to draw a sequence's next token from, with that sequence's sampler (its
// parameters, penalty counts, constraint and generator).
struct SampleRow {
  size_t row = 0;
  sampler::Sampler* sampler = nullptr;
};

// Throws std::invalid_argument when a sequence has too few KV blocks for its
// positions, names a block outside the pool, or a token outside `vocab`: what
// every executor checks before a step touches memory.
void check_batch(const Batch& batch, const kv::KvLayout& kv, size_t vocab);

class Executor {
 public:
  virtual ~Executor() = default;

  // Runs every sequence's new tokens through the model, writes their keys and
  // values into the KV blocks the batch names, and fills `logits` (resized)
  // for the sequences that want them.
  virtual void step(const Batch& batch, Logits& logits) = 0;

  // After step(): each row's next token, drawn by its sampler as Sampler::sample does (the logits row is
  // overwritten; the token is not accepted), into out[i]. The rows' samplers are distinct, and each gives the
  // same tokens wherever it runs. Sampling belongs where the logits are: this default runs the rows in order
  // on the calling thread.
  virtual void sample(std::span<const SampleRow> rows, Logits& logits, std::span<sampler::Sampled> out);

  // How the KV cache is laid out and how many blocks the executor holds.
  virtual const kv::KvLayout& kv_layout() const = 0;

  // One block's keys and values (kv_layout().block_bytes() of them), out of the pool or into it: what a
  // prefix-cache snapshot file holds. Not during a step.
  virtual void read_kv_block(kv::BlockId block, std::span<std::byte> out) const = 0;
  virtual void write_kv_block(kv::BlockId block, std::span<const std::byte> bytes) = 0;
  // Readies the memory behind `blocks` for write_kv_block, in that order, so the writes do not stall on it.
  // Safe on another thread, during steps and writes; the blocks' contents are left as they are.
  virtual void prepare_kv_writes(std::span<const kv::BlockId> /*blocks*/) const {}
};

// Throws std::invalid_argument unless `block` is in the pool and `bytes` is one block's size.
void check_kv_block(const kv::KvLayout& kv, kv::BlockId block, size_t bytes);

}  // namespace rs::engine
