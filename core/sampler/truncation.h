#pragma once
// Top-k, top-p and min-p over a list of candidate tokens, as llama.cpp's
// samplers of those names: each moves the candidates it keeps to the front of
// the list and returns how many it keeps, ordering no more of it than it must.
#include <cstddef>
#include <span>

#include "core/sampler/sampling_params.h"

namespace rs::sampler {

struct Candidate {
  float logit;
  TokenId id;
};

// Higher logit first; among equal logits the lower id, as greedy breaks ties.
// Logits must not be NaN (the sampler makes them -inf).
inline bool ranks_before(const Candidate& a, const Candidate& b) {
  return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
}

// The `k` best (0: all), in no particular order.
size_t keep_top_k(std::span<Candidate> candidates, size_t k);

// The fewest best candidates whose probabilities, the softmax of the logits in
// `candidates`, add up to at least `p` (1: all), in no particular order.
size_t keep_top_p(std::span<Candidate> candidates, float p);

// The candidates whose probability is at least `min_p` times the best one's
// (0: all), in the order they were in.
size_t keep_min_p(std::span<Candidate> candidates, float min_p);

}  // namespace rs::sampler
