#pragma once
// One forward step's work as the scheduler hands it to an executor: many
// sequences, each with a span of new tokens (a prefill chunk or one decode
// token) at known positions, and where its KV cache lives.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "core/kv/kv_layout.h"

namespace rs::engine {

using TokenId = int32_t;
using BlockId = kv::BlockId;

struct SequenceStep {
  std::span<const TokenId> tokens;  // the new tokens, at positions position, position + 1, …
  uint32_t position = 0;            // tokens before them are already in the KV cache
  // KV blocks covering positions [0, position + tokens.size()): block i holds
  // positions [i * block_tokens, (i + 1) * block_tokens).
  std::span<const BlockId> blocks;
  // Rows of logits wanted: those of its last `logits` tokens. 1 for the next token (a prompt's last
  // chunk, or a decode); more when the prompt's own tokens are scored (echo with logprobs).
  uint32_t logits = 0;
};

struct Batch {
  std::vector<SequenceStep> sequences;

  size_t tokens() const {
    size_t n = 0;
    for (const SequenceStep& s : sequences) n += s.tokens.size();
    return n;
  }
};

// The rows of `vocab` logits the sequences want, in batch order and token order within a sequence.
struct Logits {
  size_t vocab = 0;
  std::vector<float> values;  // rows × vocab

  size_t rows() const { return vocab == 0 ? 0 : values.size() / vocab; }
  std::span<float> row(size_t i) { return {values.data() + i * vocab, vocab}; }
  std::span<const float> row(size_t i) const { return {values.data() + i * vocab, vocab}; }
};

}  // namespace rs::engine
