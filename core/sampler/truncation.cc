#include "core/sampler/truncation.h"

#include <algorithm>
#include <array>
#include <cmath>

namespace rs::sampler {
namespace {

float max_logit(std::span<const Candidate> candidates) {
  float max = -INFINITY;
  for (const Candidate& c : candidates) max = std::max(max, c.logit);
  return max;
}

// top-p first puts candidates into buckets by how far their logit is below the
// best one, 1/32 of a logit wide; from 32 below (a probability ratio of e^-32)
// on, all share the last bucket.
constexpr size_t kBuckets = 1024;
constexpr float kBucketsPerLogit = 32;

size_t bucket_of(float below_max) {
  return below_max < kBuckets / kBucketsPerLogit ? size_t(below_max * kBucketsPerLogit) : kBuckets - 1;
}

// How many of the best `candidates`, in order, it takes for exp(logit - max) to
// add up to `target`: the best 64 are sorted first, then twice as many more
// each round, as most distributions get there within a few dozen tokens.
// Leaves them sorted best first.
size_t count_reaching(std::span<Candidate> candidates, float max, double target) {
  double sum = 0;
  size_t sorted = 0;
  for (size_t round = 64; sorted < candidates.size(); round *= 2) {
    const size_t end = std::min(candidates.size(), sorted + round);
    std::nth_element(candidates.begin() + sorted, candidates.begin() + (end - 1), candidates.end(), ranks_before);
    std::sort(candidates.begin() + sorted, candidates.begin() + end, ranks_before);
    for (; sorted < end; ++sorted) {
      sum += std::exp(candidates[sorted].logit - max);
      if (sum >= target) return sorted + 1;
    }
  }
  return candidates.size();  // rounding left the sum a hair short
}

}  // namespace

size_t keep_top_k(std::span<Candidate> candidates, size_t k) {
  if (k == 0 || k >= candidates.size()) return candidates.size();
  // A heap of the best k so far, the worst of them on top: one comparison
  // turns away most of a large vocabulary.
  const auto best = candidates.begin(), worst_end = best + k;
  std::make_heap(best, worst_end, ranks_before);
  for (auto it = worst_end; it != candidates.end(); ++it) {
    if (!ranks_before(*it, *best)) continue;
    std::pop_heap(best, worst_end, ranks_before);
    std::swap(*(worst_end - 1), *it);
    std::push_heap(best, worst_end, ranks_before);
  }
  return k;
}

size_t keep_top_p(std::span<Candidate> candidates, float p) {
  if (p >= 1 || candidates.empty()) return candidates.size();
  const float max = max_logit(candidates);
  if (!std::isfinite(max)) return candidates.size();  // no distribution to cut
  std::array<double, kBuckets> mass{};
  double total = 0;
  for (const Candidate& c : candidates) {
    const double weight = std::exp(c.logit - max);
    mass[bucket_of(max - c.logit)] += weight;
    total += weight;
  }
  const double target = p * total;

  // Every bucket before the one where the sum reaches p is kept whole; only
  // that bucket's candidates need ordering.
  size_t cut = 0;
  double before = 0;
  while (cut + 1 < kBuckets && before + mass[cut] < target) before += mass[cut++];
  const auto whole = std::partition(candidates.begin(), candidates.end(), [&](const Candidate& c) {
    return bucket_of(max - c.logit) < cut;
  });
  const auto cut_end = std::partition(whole, candidates.end(), [&](const Candidate& c) {
    return bucket_of(max - c.logit) == cut;
  });
  const size_t kept = size_t(whole - candidates.begin());
  return kept + count_reaching({whole, cut_end}, max, target - before);
}

size_t keep_min_p(std::span<Candidate> candidates, float min_p) {
  if (min_p <= 0 || candidates.empty()) return candidates.size();
  // p_i >= min_p * p_max, in logits: no softmax needed.
  const float threshold = max_logit(candidates) + std::log(min_p);
  size_t kept = 0;
  for (const Candidate& c : candidates) {
    if (c.logit >= threshold) candidates[kept++] = c;
  }
  return kept;
}

}  // namespace rs::sampler
