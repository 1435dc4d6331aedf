#pragma once
// The sampling kernel's launch and the plain data it reads, shared by
// gpu/sampling.cc (C++20) and gpu/sampling.cu (nvcc, C++17): no CUDA headers
// and nothing newer than C++17 here.
#include <cstddef>
#include <cstdint>

struct CUstream_st;

namespace rs::gpu {

// A token's logit bias, one entry per token of a row.
struct BiasEntry {
  int32_t token;
  float value;  // DeviceSampler clamps it to [-100, 100] as the CPU sampler does
};

// A token a sequence has seen, one entry per distinct token of a row: how many
// times it generated it (presence / frequency / repetition) and whether its
// prompt holds it (repetition).
struct SeenToken {
  int32_t token;
  uint32_t generated;
  bool in_prompt;
};

namespace sampling_kernel {

inline constexpr int kMaxTop = 20;  // sampler::kMaxTopLogprobs

// A row's parameters as the kernel reads them: a SamplingRow checked, with
// the switches resolved and log(min_p) taken on the host as the CPU does.
struct Row {
  float temperature;  // 0: greedy; else finite and > 0
  uint32_t top_k;     // 0: off, else below the vocabulary
  float top_p;        // >= 1: off
  float log_min_p;    // -inf: off
  float repetition;   // 1: off
  float presence;
  float frequency;
  uint64_t seed;
  uint64_t draw;  // the generator's counter
  bool logprobs;
  uint32_t top_logprobs;  // at most kMaxTop, and 0 without logprobs
  uint32_t bias_begin, bias_count;
  uint32_t seen_begin, seen_count;
};

struct Result {
  int32_t token;
  float logprob;                // with Row::logprobs only
  int32_t top_tokens[kMaxTop];  // the first Row::top_logprobs, most likely first
  float top_logprobs[kMaxTop];
};

// Samples `rows` rows of `vocab` logits (device memory, overwritten with the
// biased and penalized logits), one thread block per row, into `results`.
// All pointers are device memory; the caller has checked the rows' entry
// ranges and parameters.
void launch(float* logits, size_t rows, size_t vocab, const Row* params, const BiasEntry* bias, const SeenToken* seen,
            Result* results, CUstream_st* stream);

}  // namespace sampling_kernel
}  // namespace rs::gpu
