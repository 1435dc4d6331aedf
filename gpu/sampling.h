#pragma once
// Sampling on the GPU: a step's logits rows stay in device memory and only
// the tokens (and logprobs when asked) come back over PCIe.
//
// Each row goes through the CPU sampler's chain (core/sampler/sampler.h) in
// its order, with its kept sets and tie rules:
//   logit_bias (clamped to [-100, 100]) -> repetition penalty -> presence /
//   frequency penalties -> logprobs (log-softmax of these logits, NaN as -inf)
//   -> greedy argmax (ties: the lower id) when temperature is 0, else top-k ->
//   top-p -> min-p (on the distribution before temperature) -> temperature ->
//   softmax over the kept tokens -> draw.
// The row is left holding the biased and penalized logits, as Sampler::sample
// leaves it. Where the row has no finite best logit, the greedy token stands in
// for a draw.
//
// The draw: Philox4x32-10 keyed by the sequence's seed, with its draw count as
// the counter, so a seed and the same logits give the same token whatever else
// shares the batch. It cannot reproduce the CPU sampler's mt19937_64 draws:
// the same seed gives other tokens on the CPU and the GPU, from the same
// distribution. Top-p and the draw weigh tokens in 2^-40 fixed point (exact,
// order-free sums), so tokens below e^-27.7 of the best weigh nothing there.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "core/sampler/sampler.h"
#include "gpu/device_buffer.h"
#include "gpu/sampling_kernel.h"  // BiasEntry, SeenToken

struct CUstream_st;

namespace rs::gpu {

// One logits row's request, built on the host each step (SamplingParams'
// numbers, validated as SamplingParams::validate does).
struct SamplingRow {
  float temperature = 1.0f;  // 0: greedy
  int32_t top_k = 0;         // 0: off
  float top_p = 1.0f;        // 1: off
  float min_p = 0.0f;        // 0: off
  float repetition_penalty = 1.0f;
  float presence_penalty = 0.0f;
  float frequency_penalty = 0.0f;
  uint64_t seed = 0;
  uint64_t draw = 0;  // how many draws the sequence made before: the generator's counter
  bool logprobs = false;
  int32_t top_logprobs = 0;                 // 0..sampler::kMaxTopLogprobs, with logprobs
  uint32_t bias_begin = 0, bias_count = 0;  // into the step's bias entries, one per token
  uint32_t seen_begin = 0, seen_count = 0;  // into the step's seen tokens, one per distinct token
};

// Device scratch and pinned host buffers for up to `max_rows` rows of `vocab`
// logits and `max_entries` bias and seen entries a step, made once. One
// stream's worth: not for two threads at once.
class DeviceSampler {
 public:
  // Throws std::invalid_argument for a vocabulary of 0 or of 2^24 tokens or more.
  DeviceSampler(size_t max_rows, size_t vocab, size_t max_entries);

  // Samples every row of `logits` (device memory, rows.size() × vocab,
  // overwritten as the CPU sampler overwrites its row) on `stream`, waits for
  // it, and sets out[r] for every row r. Throws std::invalid_argument for more
  // rows or entries than the sampler was made for, a row whose entries lie
  // outside `bias` or `seen`, or parameters the kernel cannot take
  // (temperature not finite and >= 0, top_k < 0, min_p outside [0, 1],
  // top_logprobs outside 0..kMaxTopLogprobs). A token may appear once in a
  // row's bias entries and once in its seen tokens; tokens outside the
  // vocabulary are ignored, as on the CPU.
  void sample(float* logits, std::span<const SamplingRow> rows, std::span<const BiasEntry> bias,
              std::span<const SeenToken> seen, std::vector<sampler::Sampled>& out, CUstream_st* stream);

  size_t vocab() const { return vocab_; }

 private:
  size_t max_rows_;
  size_t vocab_;
  size_t max_entries_;
  DeviceBuffer host_rows_, host_bias_, host_seen_, host_results_;  // pinned
  DeviceBuffer rows_, bias_, seen_, results_;
};

}  // namespace rs::gpu
