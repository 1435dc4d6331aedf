#include "core/cpu/cpu_executor.h"

#include <fmt/format.h>

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <stdexcept>

#include "core/kernels/ops.h"
#include "core/model/quantize.h"

namespace rs::cpu {

using engine::Batch;
using engine::Logits;
using engine::SequenceStep;
using engine::TokenId;
using kv::BlockId;

namespace {

template <typename T>
void grow(std::vector<T>& v, size_t n) {
  if (v.size() < n) v.resize(n);
}

}  // namespace

std::unique_ptr<std::byte[]> make_kv_memory(size_t bytes) { return std::make_unique_for_overwrite<std::byte[]>(bytes); }

void populate_for_writes(std::span<std::byte> memory, size_t begin, size_t end) {
  const uintptr_t page = uintptr_t(sysconf(_SC_PAGESIZE));
  const uintptr_t base = uintptr_t(memory.data());
  // Whole pages inside `memory` only: the pages it shares with its neighbours are not ours to fault.
  const uintptr_t first = std::max((base + begin) / page * page, (base + page - 1) / page * page);
  const uintptr_t last = std::min((base + end + page - 1) / page * page, (base + memory.size()) / page * page);
  if (first < last) madvise(reinterpret_cast<void*>(first), last - first, MADV_POPULATE_WRITE);
}

void touch_for_writes(std::span<std::byte> memory) {
  const size_t page = size_t(sysconf(_SC_PAGESIZE));
  for (size_t at = 0; at < memory.size(); at += page) memory[at] = std::byte{0};
}

CpuExecutor::CpuExecutor(const ModelWeights& weights, const CpuExecutorOptions& options,
                         std::unique_ptr<std::byte[]> kv_memory)
    : weights_(weights),
      desc_(weights.desc()),
      pool_(options.threads, options.nice) {
  kv_ = {.n_layers = desc_.n_layers,
         .n_kv_heads = desc_.n_kv_heads,
         .head_dim = desc_.head_dim,
         .block_tokens = options.block_tokens,
         .type = options.kv_type,
         .n_blocks = options.kv_blocks};
  using model::TensorType;
  if (kv_.type != TensorType::f16 && kv_.type != TensorType::f32 && kv_.type != TensorType::q8_0) {
    throw std::invalid_argument("--kv-type: the KV cache is stored as f16, f32 or q8_0");
  }
  if (!model::tensor_bytes(kv_.type, desc_.head_dim)) {
    throw std::invalid_argument(fmt::format("--kv-type q8_0 needs a head dim that is a multiple of 32, not {}",
                                            desc_.head_dim));
  }
  if (kv_.block_tokens == 0) throw std::invalid_argument("KV blocks must hold at least one position");
  if (desc_.n_kv_heads == 0 || desc_.n_heads % desc_.n_kv_heads != 0) {
    throw std::invalid_argument(fmt::format("{} attention heads cannot share {} KV heads", desc_.n_heads,
                                            desc_.n_kv_heads));
  }
  kv_memory_ = kv_memory ? std::move(kv_memory) : make_kv_memory(kv_.block_bytes() * kv_.n_blocks);
  scores_.resize(pool_.size());
}

void CpuExecutor::read_kv_block(BlockId block, std::span<std::byte> out) const {
  engine::check_kv_block(kv_, block, out.size());
  std::memcpy(out.data(), kv_memory_.get() + kv_.rows_offset(block, 0, 0, 0), out.size());
}

void CpuExecutor::write_kv_block(BlockId block, std::span<const std::byte> bytes) {
  engine::check_kv_block(kv_, block, bytes.size());
  std::memcpy(kv_memory_.get() + kv_.rows_offset(block, 0, 0, 0), bytes.data(), bytes.size());
}

void CpuExecutor::prepare_kv_writes(std::span<const BlockId> blocks) const {
  const std::span<std::byte> pool(kv_memory_.get(), kv_.block_bytes() * kv_.n_blocks);
  size_t run_begin = 0, run_end = 0;  // consecutive blocks adjacent in memory, faulted in one call
  for (const BlockId block : blocks) {
    engine::check_kv_block(kv_, block, kv_.block_bytes());
    const size_t begin = kv_.rows_offset(block, 0, 0, 0);
    if (begin != run_end) {
      populate_for_writes(pool, run_begin, run_end);
      run_begin = begin;
    }
    run_end = begin + kv_.block_bytes();
  }
  populate_for_writes(pool, run_begin, run_end);
}

void CpuExecutor::sample(std::span<const engine::SampleRow> rows, engine::Logits& logits,
                         std::span<sampler::Sampled> out) {
  pool_.run(rows.size(), [&](size_t i, unsigned) { out[i] = rows[i].sampler->sample(logits.row(rows[i].row)); });
}

void CpuExecutor::step(const Batch& batch, Logits& logits) {
  engine::check_batch(batch, kv_, weights_.token_embedding.rows);
  n_tokens_ = batch.tokens();
  const size_t d = desc_.embedding_dim;
  const size_t q_width = size_t(desc_.n_heads) * desc_.head_dim;
  const size_t kv_width = size_t(desc_.n_kv_heads) * desc_.head_dim;
  grow(x_, n_tokens_ * d);
  grow(normed_, n_tokens_ * std::max(d, q_width));
  grow(q_, n_tokens_ * q_width);
  grow(k_, n_tokens_ * kv_width);
  grow(v_, n_tokens_ * kv_width);
  grow(attn_, n_tokens_ * q_width);
  grow(gate_, n_tokens_ * desc_.ffn_dim);
  grow(up_, n_tokens_ * desc_.ffn_dim);
  grow(out_, n_tokens_ * d);
  slots_.clear();
  for (const SequenceStep& s : batch.sequences) {
    for (size_t i = 0; i < s.tokens.size(); ++i) slots_.push_back({uint32_t(s.position + i), s.blocks});
  }
  embed(batch);
  for (uint32_t l = 0; l < desc_.n_layers; ++l) layer(l);
  lm_head(batch, logits);
}

void CpuExecutor::embed(const Batch& batch) {
  const size_t d = desc_.embedding_dim;
  const kernels::Matrix& table = weights_.token_embedding;
  size_t t = 0;
  for (const SequenceStep& s : batch.sequences) {
    for (const TokenId id : s.tokens) kernels::dequantize_row(table, size_t(id), &x_[t++ * d]);
  }
}

void CpuExecutor::layer(uint32_t index) {
  const LayerWeights& w = weights_.layers[index];
  const size_t d = desc_.embedding_dim, hd = desc_.head_dim, ffn = desc_.ffn_dim;
  const size_t n_heads = desc_.n_heads, n_kv = desc_.n_kv_heads;
  const float eps = desc_.norm_eps;
  const size_t n = n_tokens_;

  pool_.run_ranges(n, 1, [&](size_t begin, size_t end, unsigned) {
    for (size_t t = begin; t < end; ++t) kernels::rms_norm(&x_[t * d], w.attn_norm.data(), eps, d, &normed_[t * d]);
  });
  multiply(normed_.data(), n, d, {{&w.q, q_.data()}, {&w.k, k_.data()}, {&w.v, v_.data()}});

  // Biases, RoPE, and this step's keys and values into the cache.
  const bool adjacent = desc_.rope_layout == model::RopeLayout::adjacent_pairs;
  const size_t row_bytes = kv_.row_bytes();
  pool_.run_ranges(n, 1, [&](size_t begin, size_t end, unsigned) {
    for (size_t t = begin; t < end; ++t) {
      float* q = &q_[t * n_heads * hd];
      float* k = &k_[t * n_kv * hd];
      float* v = &v_[t * n_kv * hd];
      if (!w.q_bias.empty()) {
        kernels::add(q, w.q_bias.data(), n_heads * hd);
        kernels::add(k, w.k_bias.data(), n_kv * hd);
        kernels::add(v, w.v_bias.data(), n_kv * hd);
      }
      const uint32_t position = slots_[t].position;
      for (size_t h = 0; h < n_heads; ++h) kernels::rope(q + h * hd, hd, position, weights_.rope_inv_freq.data(), adjacent);
      const BlockId block = slots_[t].blocks[position / kv_.block_tokens];
      const size_t slot = position % kv_.block_tokens;
      for (uint32_t h = 0; h < n_kv; ++h) {
        kernels::rope(k + h * hd, hd, position, weights_.rope_inv_freq.data(), adjacent);
        std::byte* key = kv_memory_.get() + kv_.rows_offset(block, index, 0, h) + slot * row_bytes;
        std::byte* value = kv_memory_.get() + kv_.rows_offset(block, index, 1, h) + slot * row_bytes;
        kernels::store_kv_row(kv_.type, k + h * hd, key, hd);
        kernels::store_kv_row(kv_.type, v + h * hd, value, hd);
      }
    }
  });

  pool_.run_ranges(n * n_heads, 1, [&](size_t begin, size_t end, unsigned thread) {
    std::vector<float>& scores = scores_[thread];
    for (size_t i = begin; i < end; ++i) {
      const size_t t = i / n_heads;
      grow(scores, slots_[t].position + 1);
      attention(index, t, uint32_t(i % n_heads), scores.data());
    }
  });

  multiply(attn_.data(), n, n_heads * hd, {{&w.o, out_.data()}});
  pool_.run_ranges(n, 1, [&](size_t begin, size_t end, unsigned) {
    for (size_t t = begin; t < end; ++t) {
      kernels::add(&x_[t * d], &out_[t * d], d);
      kernels::rms_norm(&x_[t * d], w.ffn_norm.data(), eps, d, &normed_[t * d]);
    }
  });
  multiply(normed_.data(), n, d, {{&w.gate, gate_.data()}, {&w.up, up_.data()}});
  pool_.run_ranges(n, 1, [&](size_t begin, size_t end, unsigned) {
    for (size_t t = begin; t < end; ++t) kernels::swiglu(&gate_[t * ffn], &up_[t * ffn], ffn);
  });
  multiply(gate_.data(), n, ffn, {{&w.down, out_.data()}});
  pool_.run_ranges(n, 1, [&](size_t begin, size_t end, unsigned) {
    for (size_t t = begin; t < end; ++t) kernels::add(&x_[t * d], &out_[t * d], d);
  });
}

void CpuExecutor::attention(uint32_t layer, size_t t, uint32_t head, float* scores) {
  const size_t hd = desc_.head_dim;
  const uint32_t kv_head = head / (desc_.n_heads / desc_.n_kv_heads);
  const float* q = &q_[(t * desc_.n_heads + head) * hd];
  float* out = &attn_[(t * desc_.n_heads + head) * hd];
  const TokenSlot& slot = slots_[t];
  const size_t positions = size_t(slot.position) + 1;  // causal: itself and everything before
  const size_t row_bytes = kv_.row_bytes();
  const float scale = 1.0f / std::sqrt(float(hd));
  const std::byte* memory = kv_memory_.get();

  // A block's positions at a time: its rows are contiguous.
  for (size_t j = 0; j < positions; j += kv_.block_tokens) {
    const std::byte* keys = memory + kv_.rows_offset(slot.blocks[j / kv_.block_tokens], layer, 0, kv_head);
    const size_t rows = std::min<size_t>(kv_.block_tokens, positions - j);
    kernels::dot_kv_rows(kv_.type, q, keys, row_bytes, rows, hd, scale, scores + j);
  }
  kernels::softmax(scores, positions);
  std::fill(out, out + hd, 0.0f);
  for (size_t j = 0; j < positions; j += kv_.block_tokens) {
    const std::byte* values = memory + kv_.rows_offset(slot.blocks[j / kv_.block_tokens], layer, 1, kv_head);
    const size_t rows = std::min<size_t>(kv_.block_tokens, positions - j);
    kernels::axpy_kv_rows(kv_.type, scores + j, values, row_bytes, rows, out, hd);
  }
}

void CpuExecutor::lm_head(const Batch& batch, Logits& logits) {
  const size_t d = desc_.embedding_dim;
  size_t rows = 0;
  for (const SequenceStep& s : batch.sequences) rows += s.logits;
  grow(head_input_, rows * d);
  rows = 0;
  size_t end = 0;  // index past each sequence's last token
  for (const SequenceStep& s : batch.sequences) {
    end += s.tokens.size();
    for (size_t t = end - s.logits; t < end; ++t) {
      kernels::rms_norm(&x_[t * d], weights_.output_norm.data(), desc_.norm_eps, d, &head_input_[rows++ * d]);
    }
  }
  const size_t vocab = weights_.output.rows;
  logits.vocab = vocab;
  logits.values.resize(rows * vocab);
  if (rows > 0) multiply(head_input_.data(), rows, d, {{&weights_.output, logits.values.data()}});
}

}  // namespace rs::cpu
