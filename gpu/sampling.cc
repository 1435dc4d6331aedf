// DeviceSampler's host side: checks the step's rows, stages them in pinned
// memory, and makes one copy up per array and one copy back for all results.
#include "gpu/sampling.h"

#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "gpu/cuda_check.h"

namespace rs::gpu {
namespace {

using sampling_kernel::Result;
using sampling_kernel::Row;

static_assert(sampling_kernel::kMaxTop == sampler::kMaxTopLogprobs);

constexpr size_t kMaxVocab = size_t(1) << 24;  // fixed-point weights of the whole row sum below 2^64

size_t checked_vocab(size_t vocab) {
  if (vocab == 0 || vocab >= kMaxVocab) {
    throw std::invalid_argument("DeviceSampler: a vocabulary of " + std::to_string(vocab) +
                                " tokens (1 to 2^24 - 1 are supported)");
  }
  return vocab;
}

// Whether [begin, begin + count) lies within `size` entries.
bool within(uint32_t begin, uint32_t count, size_t size) { return uint64_t(begin) + count <= size; }

Row kernel_row(const SamplingRow& r, size_t vocab, size_t index) {
  const auto fail = [&](const std::string& what) {
    throw std::invalid_argument("DeviceSampler: row " + std::to_string(index) + ": " + what);
  };
  if (!(r.temperature >= 0) || !std::isfinite(r.temperature)) fail("temperature must be finite and at least 0");
  if (r.top_k < 0) fail("top_k must be at least 0");
  if (!(r.min_p >= 0 && r.min_p <= 1)) fail("min_p must be between 0 and 1");
  if (r.top_logprobs < 0 || r.top_logprobs > sampler::kMaxTopLogprobs) {
    fail("top_logprobs must be between 0 and " + std::to_string(sampler::kMaxTopLogprobs));
  }
  Row row{};
  row.temperature = r.temperature;
  row.top_k = size_t(r.top_k) < vocab ? uint32_t(r.top_k) : 0;
  row.top_p = r.top_p;
  row.log_min_p = r.min_p > 0 ? std::log(r.min_p) : -INFINITY;  // the CPU's float log
  row.repetition = r.repetition_penalty;
  row.presence = r.presence_penalty;
  row.frequency = r.frequency_penalty;
  row.seed = r.seed;
  row.draw = r.draw;
  row.logprobs = r.logprobs;
  row.top_logprobs = r.logprobs ? uint32_t(r.top_logprobs) : 0;
  row.bias_begin = r.bias_begin;
  row.bias_count = r.bias_count;
  row.seen_begin = r.seen_begin;
  row.seen_count = r.seen_count;
  return row;
}

}  // namespace

DeviceSampler::DeviceSampler(size_t max_rows, size_t vocab, size_t max_entries)
    : max_rows_(max_rows),
      vocab_(checked_vocab(vocab)),
      max_entries_(max_entries),
      host_rows_(max_rows * sizeof(Row), DeviceBuffer::Where::pinned_host),
      host_bias_(max_entries * sizeof(BiasEntry), DeviceBuffer::Where::pinned_host),
      host_seen_(max_entries * sizeof(SeenToken), DeviceBuffer::Where::pinned_host),
      host_results_(max_rows * sizeof(Result), DeviceBuffer::Where::pinned_host),
      rows_(max_rows * sizeof(Row)),
      bias_(max_entries * sizeof(BiasEntry)),
      seen_(max_entries * sizeof(SeenToken)),
      results_(max_rows * sizeof(Result)) {}

void DeviceSampler::sample(float* logits, std::span<const SamplingRow> rows, std::span<const BiasEntry> bias,
                           std::span<const SeenToken> seen, std::vector<sampler::Sampled>& out, CUstream_st* stream) {
  if (rows.size() > max_rows_) {
    throw std::invalid_argument("DeviceSampler: " + std::to_string(rows.size()) + " rows, made for " +
                                std::to_string(max_rows_));
  }
  if (bias.size() > max_entries_ || seen.size() > max_entries_) {
    throw std::invalid_argument("DeviceSampler: " + std::to_string(bias.size()) + " bias entries and " +
                                std::to_string(seen.size()) + " seen tokens, made for " + std::to_string(max_entries_) +
                                " of each");
  }
  Row* staged_rows = host_rows_.as<Row>();
  for (size_t r = 0; r < rows.size(); ++r) {
    if (!within(rows[r].bias_begin, rows[r].bias_count, bias.size()) ||
        !within(rows[r].seen_begin, rows[r].seen_count, seen.size())) {
      throw std::invalid_argument("DeviceSampler: row " + std::to_string(r) + " has entries past the step's " +
                                  std::to_string(bias.size()) + " bias entries or " + std::to_string(seen.size()) +
                                  " seen tokens");
    }
    staged_rows[r] = kernel_row(rows[r], vocab_, r);
  }
  out.resize(rows.size());
  if (rows.empty()) return;
  BiasEntry* staged_bias = host_bias_.as<BiasEntry>();
  for (size_t e = 0; e < bias.size(); ++e) {
    staged_bias[e] = {bias[e].token, std::clamp(bias[e].value, -100.0f, 100.0f)};  // OpenAI's range, as the CPU
  }
  std::copy(seen.begin(), seen.end(), host_seen_.as<SeenToken>());

  check(cudaMemcpyAsync(rows_.data(), staged_rows, rows.size() * sizeof(Row), cudaMemcpyHostToDevice, stream),
        "copy of the sampling rows");
  check(cudaMemcpyAsync(bias_.data(), staged_bias, bias.size() * sizeof(BiasEntry), cudaMemcpyHostToDevice, stream),
        "copy of the bias entries");
  check(
      cudaMemcpyAsync(seen_.data(), host_seen_.data(), seen.size() * sizeof(SeenToken), cudaMemcpyHostToDevice, stream),
      "copy of the seen tokens");
  sampling_kernel::launch(logits, rows.size(), vocab_, rows_.as<Row>(), bias_.as<BiasEntry>(), seen_.as<SeenToken>(),
                          results_.as<Result>(), stream);
  check(cudaMemcpyAsync(host_results_.data(), results_.data(), rows.size() * sizeof(Result), cudaMemcpyDeviceToHost,
                        stream),
        "copy of the sampled tokens");
  check(cudaStreamSynchronize(stream), "sampling");

  const Result* results = host_results_.as<Result>();
  for (size_t r = 0; r < rows.size(); ++r) {
    const Row& row = staged_rows[r];
    sampler::Sampled& sampled = out[r];
    sampled.token = results[r].token;
    sampled.logprob = row.logprobs ? results[r].logprob : 0.0f;
    sampled.top.clear();
    const size_t top = std::min<size_t>(row.top_logprobs, vocab_);
    for (size_t i = 0; i < top; ++i) sampled.top.emplace_back(results[r].top_tokens[i], results[r].top_logprobs[i]);
  }
}

}  // namespace rs::gpu
