#include "gpu/cuda_executor.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>

#include "gpu/attention.h"
#include "gpu/cuda_check.h"
#include "gpu/gemm.h"
#include "gpu/matvec.h"
#include "gpu/ops.h"
#include "gpu/prefill_attention.h"
#include "gpu/step_memory.h"

namespace rs::gpu {

using engine::Batch;
using engine::SequenceStep;
using model::TensorType;

// The step's inputs, laid out once in pinned host memory and mirrored in
// device memory. Per token: id, position and its sequence's block table; the
// tokens whose logits are wanted; per sequence: its run of tokens and its
// block table (max_blocks entries), last, so that one copy of the prefix a
// step uses moves them all.
struct StepInputs {
  size_t ids = 0, positions = 0, table_of_token = 0, logit_rows = 0;
  size_t first_token = 0, run_tokens = 0, first_position = 0, block_tables = 0;
  size_t max_blocks = 0;

  StepInputs(size_t max_tokens, size_t max_sequences, size_t blocks) : max_blocks(blocks) {
    const size_t per_token = max_tokens * sizeof(int32_t), per_sequence = max_sequences * sizeof(int32_t);
    positions = ids + per_token;
    table_of_token = positions + per_token;
    logit_rows = table_of_token + per_token;
    first_token = logit_rows + per_sequence;
    run_tokens = first_token + per_sequence;
    first_position = run_tokens + per_sequence;
    block_tables = first_position + per_sequence;
  }
  size_t bytes(size_t sequences) const { return block_tables + sequences * max_blocks * sizeof(int32_t); }
};

// Activations, token-major ([token][width] f32), and the inputs, in device memory.
struct CudaExecutor::Buffers {
  explicit Buffers(const StepInputs& inputs_layout) : layout(inputs_layout) {}

  StepInputs layout;
  DeviceBuffer host_inputs, inputs;  // pinned, and its device mirror
  DeviceBuffer activations;
  float *x = nullptr, *normed = nullptr, *q = nullptr, *k = nullptr, *v = nullptr, *attn = nullptr;
  float *gate = nullptr, *up = nullptr, *out = nullptr, *head_input = nullptr, *logits = nullptr;
  DeviceBuffer host_logits;  // pinned
  DeviceBuffer kv_pool;

  int32_t* host(size_t offset) const { return reinterpret_cast<int32_t*>(host_inputs.data() + offset); }
  const int32_t* device(size_t offset) const { return reinterpret_cast<const int32_t*>(inputs.data() + offset); }
};

CudaExecutor::CudaExecutor(const DeviceWeights& weights, const CudaExecutorOptions& options)
    : weights_(weights), desc_(weights.desc()), options_(options) {
  if (options.kv_type != TensorType::f16 && options.kv_type != TensorType::f32) {
    throw std::invalid_argument(fmt::format("--kv-type {}: the CUDA executor stores the KV cache as f16 or f32",
                                            model::info(options.kv_type).name));
  }
  if (desc_.head_dim > kMaxHeadDim || desc_.head_dim % 2 != 0) {
    throw std::invalid_argument(fmt::format("the CUDA attention kernels take an even head dim up to {}, not {}",
                                            kMaxHeadDim, desc_.head_dim));
  }
  if (desc_.n_kv_heads == 0 || desc_.n_heads % desc_.n_kv_heads != 0) {
    throw std::invalid_argument(fmt::format("{} attention heads cannot share {} KV heads", desc_.n_heads,
                                            desc_.n_kv_heads));
  }
  if (options.block_tokens == 0 || options.max_batch_tokens == 0 || options.max_seqs == 0 || options.ctx_size == 0) {
    throw std::invalid_argument("the CUDA executor needs non-zero block_tokens, max_batch_tokens, max_seqs, ctx_size");
  }
  if (!(options.memory_fraction > 0 && options.memory_fraction <= 1)) {
    throw std::invalid_argument(fmt::format("--gpu-memory-fraction {} is not in (0, 1]", options.memory_fraction));
  }
  check(cudaSetDevice(weights.device()), "cudaSetDevice");

  kv_ = {.n_layers = desc_.n_layers,
         .n_kv_heads = desc_.n_kv_heads,
         .head_dim = desc_.head_dim,
         .block_tokens = options.block_tokens,
         .type = options.kv_type,
         .n_blocks = 0};
  max_blocks_ = kv_.blocks_for(options.ctx_size);
  // Graph buckets never exceed max_seqs, so decode steps fit the same buffers as any other step.
  max_tokens_ = std::max<size_t>(options.max_batch_tokens, options.max_seqs);
  max_rows_ = options.max_seqs;
  const size_t vocab = weights.output.rows;

  buffers_ = std::make_unique<Buffers>(StepInputs(max_tokens_, max_rows_, max_blocks_));
  Buffers& b = *buffers_;
  b.host_inputs = DeviceBuffer(b.layout.bytes(max_rows_), DeviceBuffer::Where::pinned_host);
  b.inputs = DeviceBuffer(b.layout.bytes(max_rows_));
  const ActivationSizes sizes(desc_, max_tokens_, max_rows_, vocab);
  b.activations = DeviceBuffer(sizes.total() * sizeof(float));
  float* next = b.activations.as<float>();
  const auto take = [&](size_t n) { return std::exchange(next, next + ActivationSizes::round(n)); };
  b.x = take(sizes.x), b.normed = take(sizes.normed), b.q = take(sizes.q), b.k = take(sizes.kv);
  b.v = take(sizes.kv), b.attn = take(sizes.q), b.gate = take(sizes.gate), b.up = take(sizes.gate);
  b.out = take(sizes.x), b.head_input = take(sizes.head_input), b.logits = take(sizes.logits);
  b.host_logits = DeviceBuffer(sizes.logits * sizeof(float), DeviceBuffer::Where::pinned_host);
  size_t widest = std::max<size_t>(desc_.embedding_dim, desc_.ffn_dim), tallest = weights.output.rows;
  for (const DeviceLayer& l : weights.layers) {
    for (const DeviceMatrix* m : {&l.q, &l.k, &l.v, &l.o, &l.gate, &l.up, &l.down}) {
      widest = std::max(widest, m->cols);
      tallest = std::max(tallest, m->rows);
    }
  }
  gemm_ = std::make_unique<Gemm>(GemmLimits{.max_tokens = max_tokens_, .max_rows = tallest, .max_cols = widest});

  // The KV pool takes what the memory fraction leaves, unless told its size; one more block than it
  // reports takes the keys and values of the padding tokens of graph-replayed steps.
  uint64_t blocks = options.kv_blocks;
  if (blocks == 0) {
    size_t free = 0, total = 0;
    check(cudaMemGetInfo(&free, &total), "cudaMemGetInfo");
    const double used = double(total - free), allowed = options.memory_fraction * double(total);
    blocks = uint64_t(std::max(0.0, allowed - used - kKvPoolReserveBytes) / double(kv_.block_bytes()));
    blocks = blocks > 0 ? blocks - 1 : 0;
  }
  if (blocks < max_blocks_) {
    throw std::invalid_argument(fmt::format(
        "the GPU's KV pool holds {} blocks of {} tokens, less than one {}-token context: raise --gpu-memory-fraction, "
        "lower --ctx-size or use a smaller model", blocks, kv_.block_tokens, options.ctx_size));
  }
  kv_.n_blocks = uint32_t(std::min<uint64_t>(blocks, UINT32_MAX - 1));
  b.kv_pool = DeviceBuffer(kv_.block_bytes() * (size_t(kv_.n_blocks) + 1));
  // Last: nothing after it throws, so the destructor always runs once the stream exists.
  check(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreate");
}

CudaExecutor::~CudaExecutor() {
  if (stream_ != nullptr) cudaStreamSynchronize(stream_);
  for (const auto& [bucket, graph] : graphs_) cudaGraphExecDestroy(graph);
  if (stream_ != nullptr) cudaStreamDestroy(stream_);
}

// On the executor's stream, so that a block is never copied while a step still writes it.
void CudaExecutor::read_kv_block(kv::BlockId block, std::span<std::byte> out) const {
  engine::check_kv_block(kv_, block, out.size());
  check(cudaSetDevice(weights_.device()), "cudaSetDevice");
  check(cudaMemcpyAsync(out.data(), buffers_->kv_pool.data() + kv_.rows_offset(block, 0, 0, 0), out.size(),
                        cudaMemcpyDeviceToHost, stream_),
        "cudaMemcpyAsync (KV block to host)");
  check(cudaStreamSynchronize(stream_), "cudaStreamSynchronize");
}

void CudaExecutor::write_kv_block(kv::BlockId block, std::span<const std::byte> bytes) {
  engine::check_kv_block(kv_, block, bytes.size());
  check(cudaSetDevice(weights_.device()), "cudaSetDevice");
  check(cudaMemcpyAsync(buffers_->kv_pool.data() + kv_.rows_offset(block, 0, 0, 0), bytes.data(), bytes.size(),
                        cudaMemcpyHostToDevice, stream_),
        "cudaMemcpyAsync (KV block to the device)");
  check(cudaStreamSynchronize(stream_), "cudaStreamSynchronize");
}

uint64_t CudaExecutor::device_bytes() const {
  return buffers_->inputs.size() + buffers_->activations.size() + buffers_->kv_pool.size() + gemm_->scratch_bytes();
}

size_t CudaExecutor::bucket(size_t sequences) const {
  size_t b = 1;
  while (b < sequences) b *= 2;
  return std::min<size_t>(b, options_.max_seqs);
}

CudaExecutor::Staged CudaExecutor::stage(const Batch& batch) {
  Buffers& b = *buffers_;
  const StepInputs& in = b.layout;
  if (batch.sequences.size() > max_rows_) {
    throw std::invalid_argument(fmt::format("a step of {} sequences is over the {} the CUDA executor was sized for",
                                            batch.sequences.size(), max_rows_));
  }
  if (batch.tokens() > max_tokens_) {
    throw std::invalid_argument(fmt::format("a step of {} tokens is over the {} the CUDA executor was sized for",
                                            batch.tokens(), max_tokens_));
  }
  Staged staged;
  for (const SequenceStep& s : batch.sequences) {
    if (s.blocks.size() > max_blocks_) {
      throw std::invalid_argument(fmt::format("a sequence with {} KV blocks is longer than the {}-token context the "
                                              "CUDA executor was sized for", s.blocks.size(), options_.ctx_size));
    }
    const size_t index = staged.sequences++;
    b.host(in.first_token)[index] = int32_t(staged.tokens);
    b.host(in.run_tokens)[index] = int32_t(s.tokens.size());
    b.host(in.first_position)[index] = int32_t(s.position);
    int32_t* table = b.host(in.block_tables) + index * max_blocks_;
    std::copy(s.blocks.begin(), s.blocks.end(), table);
    std::fill(table + s.blocks.size(), table + max_blocks_, 0);
    staged.longest_run = std::max(staged.longest_run, s.tokens.size());
    for (size_t i = 0; i < s.tokens.size(); ++i, ++staged.tokens) {
      b.host(in.ids)[staged.tokens] = s.tokens[i];
      b.host(in.positions)[staged.tokens] = int32_t(s.position + i);
      b.host(in.table_of_token)[staged.tokens] = int32_t(index);
    }
    if (staged.logit_rows + s.logits > max_rows_) {
      throw std::invalid_argument(fmt::format("a step wanting more than {} rows of logits is over what the CUDA "
                                              "executor was sized for", max_rows_));
    }
    for (size_t t = staged.tokens - s.logits; t < staged.tokens; ++t) {
      b.host(in.logit_rows)[staged.logit_rows++] = int32_t(t);
    }
  }
  // A graph replays steps of one token per sequence, padded to the bucket: the padding is token 0 at
  // position 0 with its KV in the spare block past the pool, and its logits unread.
  if (!options_.graphs || staged.tokens == 0 || staged.longest_run != 1) return staged;
  const size_t padded = bucket(staged.tokens);
  for (size_t t = staged.tokens; t < padded; ++t) {
    b.host(in.ids)[t] = 0;
    b.host(in.positions)[t] = 0;
    b.host(in.table_of_token)[t] = int32_t(t);
    int32_t* table = b.host(in.block_tables) + t * max_blocks_;
    std::fill(table, table + max_blocks_, int32_t(kv_.n_blocks));
  }
  for (size_t r = staged.logit_rows; r < padded; ++r) b.host(in.logit_rows)[r] = 0;
  staged.replay_bucket = padded;
  return staged;
}

void CudaExecutor::step(const Batch& batch, engine::Logits& logits) {
  const size_t vocab = weights_.output.rows;
  check_batch(batch, kv_, weights_.token_embedding.rows);
  Buffers& b = *buffers_;
  check(cudaSetDevice(weights_.device()), "cudaSetDevice");  // the engine thread is not the one that built us
  const Staged staged = stage(batch);
  logits.vocab = vocab;
  logits.values.resize(staged.logit_rows * vocab);
  if (staged.tokens == 0) return;

  const size_t tables = staged.replay_bucket ? staged.replay_bucket : staged.sequences;
  check(cudaMemcpyAsync(b.inputs.data(), b.host_inputs.data(), b.layout.bytes(tables), cudaMemcpyHostToDevice,
                        stream_),
        "cudaMemcpyAsync of the step's inputs");
  if (staged.replay_bucket) {
    auto found = graphs_.find(staged.replay_bucket);
    if (found == graphs_.end()) found = graphs_.emplace(staged.replay_bucket, capture(staged.replay_bucket)).first;
    check(cudaGraphLaunch(found->second, stream_), "cudaGraphLaunch");
  } else {
    forward(staged);
  }
  if (staged.logit_rows > 0) {
    check(cudaMemcpyAsync(b.host_logits.data(), b.logits, staged.logit_rows * vocab * sizeof(float),
                          cudaMemcpyDeviceToHost, stream_),
          "cudaMemcpyAsync of the logits");
  }
  check(cudaStreamSynchronize(stream_), "the step");
  std::memcpy(logits.values.data(), b.host_logits.data(), staged.logit_rows * vocab * sizeof(float));
}

CUgraphExec_st* CudaExecutor::capture(size_t bucket) {
  const Staged padded{.tokens = bucket, .logit_rows = bucket, .sequences = bucket, .longest_run = 1};
  cudaGraph_t graph = nullptr;
  check(cudaStreamBeginCapture(stream_, cudaStreamCaptureModeThreadLocal), "cudaStreamBeginCapture");
  try {
    forward(padded);
  } catch (...) {
    cudaStreamEndCapture(stream_, &graph);
    if (graph != nullptr) cudaGraphDestroy(graph);
    throw;
  }
  check(cudaStreamEndCapture(stream_, &graph), "cudaStreamEndCapture");
  cudaGraphExec_t exec = nullptr;
  const cudaError_t err = cudaGraphInstantiate(&exec, graph, 0);
  cudaGraphDestroy(graph);
  check(err, fmt::format("cudaGraphInstantiate for {} sequences", bucket));
  return exec;
}

void CudaExecutor::forward(const Staged& staged) {
  const Buffers& b = *buffers_;
  const DeviceMatrix& table = weights_.token_embedding;
  embed(table.type, table.data, table.cols, table.row_bytes, b.device(b.layout.ids), staged.tokens, b.x, stream_);
  for (uint32_t l = 0; l < desc_.n_layers; ++l) layer(l, staged);
  const size_t d = desc_.embedding_dim, rows = staged.logit_rows;
  gather_rows(b.x, b.device(b.layout.logit_rows), d, rows, b.head_input, stream_);
  rms_norm(b.head_input, weights_.output_norm, desc_.norm_eps, d, rows, b.head_input, stream_);
  if (rows > 0) multiply(weights_.output, b.head_input, rows, b.logits);
}

void CudaExecutor::layer(uint32_t index, const Staged& staged) {
  const DeviceLayer& w = weights_.layers[index];
  const Buffers& b = *buffers_;
  const size_t n = staged.tokens;
  const size_t d = desc_.embedding_dim, hd = desc_.head_dim, ffn = desc_.ffn_dim;
  const size_t n_heads = desc_.n_heads, n_kv = desc_.n_kv_heads;

  rms_norm(b.x, w.attn_norm, desc_.norm_eps, d, n, b.normed, stream_);
  multiply(w.q, b.normed, n, b.q);
  multiply(w.k, b.normed, n, b.k);
  multiply(w.v, b.normed, n, b.v);
  if (w.q_bias != nullptr) {
    add_bias(b.q, w.q_bias, n_heads * hd, n, stream_);
    add_bias(b.k, w.k_bias, n_kv * hd, n, stream_);
    add_bias(b.v, w.v_bias, n_kv * hd, n, stream_);
  }
  const bool adjacent = desc_.rope_layout == model::RopeLayout::adjacent_pairs;
  const int32_t* positions = b.device(b.layout.positions);
  rope(b.q, n, n_heads, hd, positions, weights_.rope_inv_freq, adjacent, stream_);
  rope(b.k, n, n_kv, hd, positions, weights_.rope_inv_freq, adjacent, stream_);

  const KvShape shape{kv_.n_layers, kv_.n_kv_heads, kv_.head_dim, kv_.block_tokens, kv_.type};
  const int32_t* tables = b.device(b.layout.block_tables);
  const AttentionBatch batch{positions, tables, max_blocks_, n, b.device(b.layout.table_of_token)};
  store_kv(shape, b.kv_pool.data(), index, batch, b.k, b.v, stream_);
  const float scale = 1.0f / std::sqrt(float(hd));
  if (staged.longest_run == 1) {  // decode: one query per sequence
    attention_decode(shape, b.kv_pool.data(), index, batch, uint32_t(n_heads), scale, b.q, b.attn, stream_);
  } else {  // a tile of queries reads each tile of keys and values once
    const PrefillBatch runs{b.device(b.layout.first_token), b.device(b.layout.run_tokens),
                            b.device(b.layout.first_position), tables, max_blocks_, uint32_t(staged.sequences),
                            uint32_t(staged.longest_run)};
    attention_prefill(shape, b.kv_pool.data(), index, runs, uint32_t(n_heads), scale, b.q, b.attn, stream_);
  }

  multiply(w.o, b.attn, n, b.out);
  add(b.x, b.out, n * d, stream_);
  rms_norm(b.x, w.ffn_norm, desc_.norm_eps, d, n, b.normed, stream_);
  multiply(w.gate, b.normed, n, b.gate);
  multiply(w.up, b.normed, n, b.up);
  swiglu(b.gate, b.up, n * ffn, stream_);
  multiply(w.down, b.gate, n, b.out);
  add(b.x, b.out, n * d, stream_);
}

void CudaExecutor::multiply(const DeviceMatrix& w, const float* x, size_t tokens, float* y) {
  if (tokens <= kMaxMatvecTokens) {  // each weight read once for the batch
    matvec(w.type, w.data, w.rows, w.cols, w.row_bytes, x, tokens, y, stream_);
  } else {  // enough tokens for the matrix units: dequantized tiles and cuBLAS
    gemm_->multiply(w.type, w.data, w.rows, w.cols, w.row_bytes, x, tokens, y, stream_);
  }
}

}  // namespace rs::gpu
