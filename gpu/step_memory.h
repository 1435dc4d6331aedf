#pragma once
// Device memory a CUDA executor holds besides the weights and the KV pool,
// from the model's shape alone: the executor sizes its buffers with it, and
// `ringserve plan` counts it without a GPU. Needs no CUDA to include.
#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "core/model/model_desc.h"
#include "gpu/gemm.h"

namespace rs::gpu {

// Left free when the KV pool takes the rest of the memory fraction: cuBLAS workspaces, graphs and the CUDA
// context's growth.
inline constexpr double kKvPoolReserveBytes = 256.0 * (1 << 20);

// Floats of each activation buffer for `tokens` tokens, in the order the executor lays them out.
struct ActivationSizes {
  size_t x, normed, q, kv, gate, head_input, logits;

  ActivationSizes(const model::ModelDesc& d, size_t tokens, size_t rows, size_t vocab) {
    const size_t q_width = size_t(d.n_heads) * d.head_dim;
    x = tokens * d.embedding_dim;
    normed = tokens * std::max<size_t>(d.embedding_dim, q_width);
    q = tokens * q_width;
    kv = tokens * size_t(d.n_kv_heads) * d.head_dim;
    gate = tokens * d.ffn_dim;
    head_input = rows * d.embedding_dim;
    logits = rows * vocab;
  }
  // x, normed, q, k, v, attn, gate, up, out, head_input, logits; each rounded to 64 floats (256 bytes).
  size_t total() const {
    size_t sum = 0;
    for (const size_t n : {x, normed, q, kv, kv, q, gate, gate, x, head_input, logits}) sum += round(n);
    return sum;
  }
  static size_t round(size_t n) { return (n + 63) / 64 * 64; }
};

// The activations of the largest step (max(max_batch_tokens, max_seqs) tokens, max_seqs logits rows) and the
// prefill GEMM's scratch (f16 activations, its weight-tile bound, cuBLAS's workspace). The step's small
// inputs (token ids, block tables) are left to kKvPoolReserveBytes.
inline uint64_t step_device_bytes(const model::ModelDesc& d, size_t max_batch_tokens, size_t max_seqs) {
  const size_t tokens = std::max(max_batch_tokens, max_seqs);
  const size_t widest = std::max({size_t(d.embedding_dim), size_t(d.ffn_dim), size_t(d.n_heads) * d.head_dim});
  const size_t tallest = std::max<size_t>(d.vocab_size, widest);
  const size_t f16 = 2;
  const size_t tile = std::min(GemmLimits{}.max_tile_bytes, tallest * widest * f16);
  return ActivationSizes(d, tokens, max_seqs, d.vocab_size).total() * sizeof(float) + tokens * widest * f16 +
         tile + Gemm::kWorkspaceBytes;
}

}  // namespace rs::gpu
