// Sampling, one thread block per logits row, the CPU sampler's chain
// (core/sampler/sampler.cc) in its order:
//   bias -> penalties (written back to the row) -> max -> logprobs ->
//   greedy argmax, or top-k -> top-p -> min-p -> temperature -> draw.
// Every candidate gets one 64-bit rank key, the logit's ordered bits over the
// complement of its id, so that a larger key ranks before (ranks_before: the
// higher logit, then the lower id) and no two keys are equal. A kept set is
// then "key >= cut": top-k, top-p and top logprobs each find their cut by a
// radix select over the keys, 8 bits a pass, each pass a block-wide histogram
// of counts or of weights; ties at a cut fall to the id bits, as on the CPU.
// Weights are summed in 2^-40 fixed point so that sums are exact and do not
// depend on the order threads add them in: a row gives the same cut and the
// same draw every time.
#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>
#include <cub/block/block_reduce.cuh>
#include <cub/block/block_scan.cuh>

#include "gpu/cuda_check.h"
#include "gpu/sampling_kernel.h"

namespace rs::gpu::sampling_kernel {
namespace {

constexpr int kThreads = 512;
// A pass over the row is bound by load latency: each thread keeps this many loads in flight.
constexpr int kLoads = 8;
constexpr int kDigitBits = 8;
constexpr int kBins = 1 << kDigitBits;
constexpr float kFixedOne = 0x1p40f;  // a weight of 1 in fixed point; a vocabulary of 2^24 sums below 2^64
static_assert(kThreads >= kBins, "a radix pass scans one digit a thread");

using Key = unsigned long long;  // the type cub and atomicAdd take for 64 bits

using KeyReduce = cub::BlockReduce<Key, kThreads>;
using DoubleReduce = cub::BlockReduce<double, kThreads>;
using KeyScan = cub::BlockScan<Key, kThreads>;

struct Shared {
  union {
    KeyReduce::TempStorage key_reduce;
    DoubleReduce::TempStorage double_reduce;
    KeyScan::TempStorage key_scan;
  } temp;
  Key measure[kBins];     // a radix pass's weight (or count) per digit
  uint32_t count[kBins];  // a radix pass's candidates per digit
  Key key_result;
  double double_result;
  int chosen_bin;
  Key chosen_needed;
  int chosen_token;
  int top_found;
  Key top[kMaxTop];
};

// A NaN (a fault upstream) would break the ordering; the CPU makes it -inf too.
__device__ float no_nan(float logit) { return isnan(logit) ? -INFINITY : logit; }

__device__ float read_logit(const float* row, int id) { return no_nan(row[id]); }

// f(logit, id) for this thread's tokens, id = threadIdx.x + i · blockDim.x in
// increasing order (a fixed order, so a thread's float sums are the same
// every run), kLoads loads at a time.
template <class F>
__device__ void for_each_token(const float* row, int vocab, F f) {
  const int stride = blockDim.x;
  int id = threadIdx.x;
  for (; id + (kLoads - 1) * stride < vocab; id += kLoads * stride) {
    float logits[kLoads];
#pragma unroll
    for (int i = 0; i < kLoads; ++i) logits[i] = row[id + i * stride];
#pragma unroll
    for (int i = 0; i < kLoads; ++i) f(no_nan(logits[i]), id + i * stride);
  }
  for (; id < vocab; id += stride) f(read_logit(row, id), id);
}

// The float's bits as an unsigned integer in the float's order; -0 as +0,
// since they compare equal and ties go to the lower id.
__device__ uint32_t ordered_bits(float logit) {
  const uint32_t bits = __float_as_uint(logit == 0.0f ? 0.0f : logit);
  return (bits & 0x80000000u) != 0 ? ~bits : bits | 0x80000000u;
}

__device__ Key rank_key(float logit, int id) { return Key(ordered_bits(logit)) << 32 | Key(~uint32_t(id)); }

__device__ int key_token(Key key) { return int(~uint32_t(key)); }

__device__ float key_logit(Key key) {
  const uint32_t ordered = uint32_t(key >> 32);
  return __uint_as_float((ordered & 0x80000000u) != 0 ? ordered & 0x7fffffffu : ~ordered);
}

// A weight in [0, 1] in fixed point, truncated; NaN (from inf - inf) weighs nothing.
__device__ Key fixed_weight(float weight) { return weight > 0 ? Key(weight * kFixedOne) : 0; }

// Philox4x32-10 (Salmon et al., Random123), its first two words: a counter-
// based generator, so any draw of any sequence is one call.
__device__ Key philox_bits(uint64_t seed, uint64_t counter) {
  uint32_t c0 = uint32_t(counter), c1 = uint32_t(counter >> 32), c2 = 0, c3 = 0;
  uint32_t k0 = uint32_t(seed), k1 = uint32_t(seed >> 32);
  for (int round = 0; round < 10; ++round) {
    if (round > 0) {
      k0 += 0x9E3779B9u;
      k1 += 0xBB67AE85u;
    }
    const uint32_t hi0 = __umulhi(0xD2511F53u, c0), lo0 = 0xD2511F53u * c0;
    const uint32_t hi1 = __umulhi(0xCD9E8D57u, c2), lo1 = 0xCD9E8D57u * c2;
    c0 = hi1 ^ c1 ^ k0;
    c1 = lo1;
    c2 = hi0 ^ c3 ^ k1;
    c3 = lo0;
  }
  return Key(c0) << 32 | c1;
}

// Thread 0's `value` for every thread of the block, through `slot`.
template <class T>
__device__ T from_thread0(T value, T& slot) {
  if (threadIdx.x == 0) slot = value;
  __syncthreads();
  const T result = slot;
  __syncthreads();  // before the reduction's temp storage or the slot is reused
  return result;
}

// Block-wide reductions; every thread gets the result.
__device__ Key block_max(Key value, Shared& s) {
  const Key max = KeyReduce(s.temp.key_reduce).Reduce(value, [](Key a, Key b) { return a > b ? a : b; });
  return from_thread0(max, s.key_result);
}

__device__ Key block_sum(Key value, Shared& s) {
  return from_thread0(KeyReduce(s.temp.key_reduce).Sum(value), s.key_result);
}

__device__ double block_sum(double value, Shared& s) {
  return from_thread0(DoubleReduce(s.temp.double_reduce).Sum(value), s.double_result);
}

// The cut of a descending walk over the candidates (the tokens with key >=
// floor) that stops at the candidate where the running measure first reaches
// `needed`: the walk keeps exactly the candidates with key >= the returned
// cut. The measure is 1 per candidate when kCounting (top-k: the `needed`
// best), else weight(logit) (top-p). Needs 1 <= needed <= the candidates'
// total measure. Each pass fixes 8 more bits of the cut key; it stops early
// once the chosen digit holds one candidate, or (counting) exactly as many as
// are still needed, which for distinct logits is within the logit's 32 bits.
template <bool kCounting, class Weight>
__device__ Key select_cut(const float* row, int vocab, Key floor, Key needed, Weight weight, Shared& s) {
  Key prefix = 0;  // the digits chosen so far
  for (int shift = 64 - kDigitBits;; shift -= kDigitBits) {
    for (int bin = threadIdx.x; bin < kBins; bin += blockDim.x) {
      s.measure[bin] = 0;
      s.count[bin] = 0;
    }
    __syncthreads();
    const int above = shift + kDigitBits;  // the bits the prefix fixes
    // Consecutive tokens of a thread mostly share a digit (the first pass's
    // above all): add them up privately, then once to the shared bin.
    int run_bin = -1;
    Key run_measure = 0;
    uint32_t run_count = 0;
    for_each_token(row, vocab, [&](float logit, int id) {
      const Key key = rank_key(logit, id);
      if (key < floor || (above < 64 && key >> above != prefix)) return;
      const int bin = int(key >> shift) & (kBins - 1);
      if (bin != run_bin) {
        if (run_count > 0) {
          atomicAdd(&s.measure[run_bin], run_measure);
          atomicAdd(&s.count[run_bin], run_count);
        }
        run_bin = bin;
        run_measure = 0;
        run_count = 0;
      }
      run_measure += kCounting ? 1 : weight(logit);
      ++run_count;
    });
    if (run_count > 0) {
      atomicAdd(&s.measure[run_bin], run_measure);
      atomicAdd(&s.count[run_bin], run_count);
    }
    __syncthreads();
    // The digit where the walk stops: thread t holds digit kBins - 1 - t, so
    // the exclusive sum is the measure of the digits that rank before it.
    const int bin = kBins - 1 - int(threadIdx.x);
    const Key in_bin = threadIdx.x < kBins ? s.measure[bin] : 0;
    Key before;
    KeyScan(s.temp.key_scan).ExclusiveSum(in_bin, before);
    if (threadIdx.x < kBins && before < needed && needed <= before + in_bin) {
      s.chosen_bin = bin;
      s.chosen_needed = needed - before;
    }
    __syncthreads();
    prefix = prefix << kDigitBits | Key(s.chosen_bin);
    needed = s.chosen_needed;
    const uint32_t candidates_in_bin = s.count[s.chosen_bin];
    __syncthreads();  // all have read the bins before the next pass clears them
    if (shift == 0 || candidates_in_bin == 1 || (kCounting && candidates_in_bin == needed)) {
      const Key cut = prefix << shift;
      return cut > floor ? cut : floor;
    }
  }
}

__global__ void __launch_bounds__(kThreads)
    sample_kernel(float* logits, int vocab, const Row* params, const BiasEntry* bias, const SeenToken* seen,
                  Result* results) {
  __shared__ Shared s;
  const Row p = params[blockIdx.x];
  float* row = logits + size_t(blockIdx.x) * vocab;

  // Bias, then penalties (a token may be in both), written back as the CPU does.
  for (uint32_t e = threadIdx.x; e < p.bias_count; e += blockDim.x) {
    const BiasEntry entry = bias[p.bias_begin + e];
    if (entry.token >= 0 && entry.token < vocab) row[entry.token] += entry.value;
  }
  __syncthreads();
  for (uint32_t e = threadIdx.x; e < p.seen_count; e += blockDim.x) {
    const SeenToken token = seen[p.seen_begin + e];
    if (token.token < 0 || token.token >= vocab) continue;
    float logit = row[token.token];
    // The _rn intrinsics keep nvcc from fusing into an FMA the CPU does not do.
    if (p.repetition != 1 && (token.in_prompt || token.generated > 0)) {
      logit = logit > 0 ? __fdiv_rn(logit, p.repetition) : __fmul_rn(logit, p.repetition);
    }
    if (token.generated > 0 && (p.presence != 0 || p.frequency != 0)) {
      logit = __fsub_rn(logit, __fadd_rn(p.presence, __fmul_rn(p.frequency, float(token.generated))));
    }
    row[token.token] = logit;
  }
  __syncthreads();

  Key best = 0;  // below every token's key
  for_each_token(row, vocab, [&](float logit, int id) {
    const Key key = rank_key(logit, id);
    best = key > best ? key : best;
  });
  best = block_max(best, s);
  const float max = key_logit(best);

  double log_sum_exp = 0;
  if (p.logprobs) {
    double sum = 0;  // in double over float exps, as the CPU
    for_each_token(row, vocab, [&](float logit, int) { sum += expf(__fsub_rn(logit, max)); });
    log_sum_exp = double(max) + log(block_sum(sum, s));
  }

  int token = key_token(best);
  // With no finite best logit there is no distribution: the greedy token stands in.
  if (p.temperature != 0 && isfinite(max)) {
    const auto weight = [max](float logit) { return fixed_weight(expf(__fsub_rn(logit, max))); };
    Key cut = 0;  // every token
    if (p.top_k != 0) cut = select_cut<true>(row, vocab, cut, p.top_k, weight, s);
    if (p.top_p < 1) {
      Key total = 0;
      for_each_token(row, vocab, [&](float logit, int id) { total += rank_key(logit, id) >= cut ? weight(logit) : 0; });
      total = block_sum(total, s);  // at least the best token's 2^40
      // The fewest best whose sum reaches p · total: an integer sum reaches it when it reaches its ceiling.
      const double target = ceil(double(p.top_p) * double(total));
      const Key needed = target < 1 ? 1 : target >= double(total) ? total : Key(target);
      cut = select_cut<false>(row, vocab, cut, needed, weight, s);
    }
    const float min_logit = __fadd_rn(max, p.log_min_p);  // p >= min_p · p_max, in logits
    const auto draw_weight = [&](float logit, int id) -> Key {
      if (rank_key(logit, id) < cut || !(logit >= min_logit)) return 0;
      return fixed_weight(expf(__fdiv_rn(__fsub_rn(logit, max), p.temperature)));
    };
    Key total = 0;
    for_each_token(row, vocab, [&](float logit, int id) { total += draw_weight(logit, id); });
    total = block_sum(total, s);  // the best token is kept and weighs 2^40
    // Uniform in [0, total): the high half of a 64-bit draw times the total.
    const Key target = __umul64hi(philox_bits(p.seed, p.draw), total);

    // The first token, in id order, whose running sum passes the target: a
    // block-wide prefix sum over tiles of kLoads consecutive tokens a thread.
    if (threadIdx.x == 0) s.chosen_token = -1;
    __syncthreads();
    Key carried = 0;
    for (int base = 0; base < vocab; base += kThreads * kLoads) {
      const int first = base + int(threadIdx.x) * kLoads;
      float logits[kLoads];
#pragma unroll
      for (int i = 0; i < kLoads; ++i) logits[i] = first + i < vocab ? read_logit(row, first + i) : -INFINITY;
      Key weights[kLoads];
      Key sum = 0;
#pragma unroll
      for (int i = 0; i < kLoads; ++i) {
        weights[i] = first + i < vocab ? draw_weight(logits[i], first + i) : 0;
        sum += weights[i];
      }
      Key before, tile_total;
      KeyScan(s.temp.key_scan).ExclusiveSum(sum, before, tile_total);
      before += carried;
      if (before <= target && target < before + sum) {  // exactly one thread of the row
        Key running = before;
        for (int i = 0; i < kLoads; ++i) {
          running += weights[i];
          if (target < running) {
            s.chosen_token = first + i;
            break;
          }
        }
      }
      carried += tile_total;
      __syncthreads();
      if (s.chosen_token >= 0) break;
    }
    token = s.chosen_token;
  }

  Result& out = results[blockIdx.x];
  if (threadIdx.x == 0) {
    out.token = token;
    out.logprob = p.logprobs ? float(double(read_logit(row, token)) - log_sum_exp) : 0.0f;
  }
  if (p.top_logprobs == 0) return;
  const int top = p.top_logprobs < uint32_t(vocab) ? int(p.top_logprobs) : vocab;
  const Key top_cut = select_cut<true>(
      row, vocab, 0, Key(top), [](float) { return Key(1); }, s);
  if (threadIdx.x == 0) s.top_found = 0;
  __syncthreads();
  for_each_token(row, vocab, [&](float logit, int id) {
    const Key key = rank_key(logit, id);
    if (key < top_cut) return;
    const int slot = atomicAdd(&s.top_found, 1);
    if (slot < top) s.top[slot] = key;  // exactly `top` keys reach the cut
  });
  __syncthreads();
  if (int(threadIdx.x) < top) {
    const Key key = s.top[threadIdx.x];
    int rank = 0;  // the keys are distinct
    for (int i = 0; i < top; ++i) rank += s.top[i] > key ? 1 : 0;
    out.top_tokens[rank] = key_token(key);
    out.top_logprobs[rank] = float(double(key_logit(key)) - log_sum_exp);
  }
}

}  // namespace

void launch(float* logits, size_t rows, size_t vocab, const Row* params, const BiasEntry* bias, const SeenToken* seen,
            Result* results, CUstream_st* stream) {
  if (rows == 0) return;
  sample_kernel<<<unsigned(rows), kThreads, 0, stream>>>(logits, int(vocab), params, bias, seen, results);
  check_launch("sample");
}

}  // namespace rs::gpu::sampling_kernel
