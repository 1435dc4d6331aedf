#pragma once
// The reference executor: a Llama-family forward pass over a batch on the
// CPU's SIMD units, with a paged KV cache in host memory. Every GPU kernel is
// checked against it, and it serves where no GPU is present.
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <span>
#include <vector>

#include "core/engine/executor.h"
#include "core/cpu/model_weights.h"
#include "core/cpu/multiply.h"
#include "core/cpu/thread_pool.h"
#include "core/kernels/matmul.h"

namespace rs::cpu {

struct CpuExecutorOptions {
  unsigned threads = 0;  // 0: every core
  int nice = 0;          // the compute threads' niceness above the process's (ThreadPool)
  model::TensorType kv_type = model::TensorType::f16;
  uint32_t kv_blocks = 0;  // blocks in the KV pool
  uint32_t block_tokens = 16;
};

// Memory for a KV pool of `bytes`, unzeroed: every row is written before it is read, and untouched pages cost no
// memory or start-up time.
std::unique_ptr<std::byte[]> make_kv_memory(size_t bytes);

// Faults in the pages of memory[begin, end) (rounded out to whole pages, within `memory`) ready for writing, so
// that writes there do not stall on them: MADV_POPULATE_WRITE; a kernel without it leaves them to the writes.
// Contents are left as they are, so another thread may use the memory meanwhile.
void populate_for_writes(std::span<std::byte> memory, size_t begin, size_t end);

// Writes a zero into every page of `memory`, which nothing else uses yet and nothing reads before writing: faults
// its pages in through this process's own mapping. Where the hypervisor shadows page tables (as this project's
// VMs do), pages the kernel populated still fault on their first write from here; these do not.
void touch_for_writes(std::span<std::byte> memory);

class CpuExecutor final : public engine::Executor {
 public:
  // Throws std::invalid_argument for options the model cannot run with. `kv_memory`: the pool's memory if the
  // caller made it (make_kv_memory of at least kv_blocks blocks), as ModelEngine does to fault blocks in early.
  CpuExecutor(const ModelWeights& weights, const CpuExecutorOptions& options,
              std::unique_ptr<std::byte[]> kv_memory = nullptr);

  void step(const engine::Batch& batch, engine::Logits& logits) override;
  // The rows at once on the pool (a row per chunk), instead of one after another on the engine thread.
  void sample(std::span<const engine::SampleRow> rows, engine::Logits& logits,
              std::span<sampler::Sampled> out) override;
  const kv::KvLayout& kv_layout() const override { return kv_; }
  void read_kv_block(kv::BlockId block, std::span<std::byte> out) const override;
  void write_kv_block(kv::BlockId block, std::span<const std::byte> bytes) override;
  // Faults the blocks' pages in (MADV_POPULATE_WRITE): the pool is left unzeroed, and a first write to each
  // page otherwise waits on the kernel zeroing it.
  void prepare_kv_writes(std::span<const kv::BlockId> blocks) const override;

 private:
  void embed(const engine::Batch& batch);
  void layer(uint32_t index);
  void attention(uint32_t layer, size_t token, uint32_t head, float* scores);
  // The step's products of `input` rows (cpu::multiply on this executor's pool).
  void multiply(const float* input, size_t n_tokens, size_t width, std::initializer_list<Product> products) {
    cpu::multiply(pool_, prepared_, input, n_tokens, width, products);
  }
  void lm_head(const engine::Batch& batch, engine::Logits& logits);

  const ModelWeights& weights_;
  const model::ModelDesc& desc_;
  ThreadPool pool_;
  kv::KvLayout kv_;
  std::unique_ptr<std::byte[]> kv_memory_;

  // Per step: each token's sequence, position and block table.
  struct TokenSlot {
    uint32_t position;
    std::span<const kv::BlockId> blocks;
  };
  std::vector<TokenSlot> slots_;
  size_t n_tokens_ = 0;
  // Activations, token-major: [token][width].
  std::vector<float> x_, normed_, q_, k_, v_, attn_, gate_, up_, out_;
  std::vector<std::vector<float>> scores_;  // one attention row per thread
  std::vector<float> head_input_;  // final-normed rows of the tokens that want logits
  kernels::Activations prepared_;
};

}  // namespace rs::cpu
