#include "core/sampler/sampler.h"

#include <algorithm>
#include <atomic>
#include <cmath>

namespace rs::sampler {
namespace {

// splitmix64's finalizer: consecutive inputs give unrelated seeds.
uint64_t mix(uint64_t x) {
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// A different seed for every unseeded sequence, and for every process.
uint64_t fresh_seed() {
  static const uint64_t process_seed = [] {
    std::random_device device;
    return uint64_t(device()) << 32 | device();
  }();
  static std::atomic<uint64_t> sequences{0};
  return mix(process_seed + 0x9e3779b97f4a7c15ull * (sequences.fetch_add(1, std::memory_order_relaxed) + 1));
}

// The highest logit; the lowest id among equals. NaN never wins.
TokenId argmax(std::span<const float> logits) {
  TokenId best = 0;
  float best_logit = -INFINITY;
  for (size_t i = 0; i < logits.size(); ++i) {
    if (logits[i] > best_logit) {
      best_logit = logits[i];
      best = TokenId(i);
    }
  }
  return best;
}

double log_sum_exp(std::span<const float> logits) {
  float max = -INFINITY;
  for (const float logit : logits) max = std::max(max, logit);
  double sum = 0;
  for (const float logit : logits) sum += std::exp(logit - max);
  return max + std::log(sum);
}

// The `n` best logits, best first (ties: lower id), as logprobs: one pass with
// a short sorted list, no buffer of the vocabulary's size.
std::vector<std::pair<TokenId, float>> best_logprobs(std::span<const float> logits, size_t n, double lse) {
  std::vector<std::pair<TokenId, float>> top;  // (id, logit) until the end
  if (n == 0) return top;
  top.reserve(n + 1);
  const auto before = [](const std::pair<TokenId, float>& a, const std::pair<TokenId, float>& b) {
    return ranks_before({a.second, a.first}, {b.second, b.first});
  };
  for (size_t i = 0; i < logits.size(); ++i) {
    const std::pair<TokenId, float> token(TokenId(i), std::isnan(logits[i]) ? -INFINITY : logits[i]);
    if (top.size() == n && !before(token, top.back())) continue;
    top.insert(std::upper_bound(top.begin(), top.end(), token, before), token);
    if (top.size() > n) top.pop_back();
  }
  for (auto& [id, logit] : top) logit = float(logit - lse);
  return top;
}

}  // namespace

Sampler::Sampler(const SamplingParams& params, std::span<const TokenId> prompt)
    : temperature_(params.temperature),
      top_k_(size_t(std::max(params.top_k, 0))),
      top_p_(params.top_p),
      min_p_(params.min_p),
      logprobs_(params.logprobs),
      top_logprobs_(size_t(std::max(params.top_logprobs, 0))),
      penalties_(params, prompt),
      constraint_(params.constraint ? params.constraint->start() : nullptr),
      rng_(params.seed ? *params.seed : fresh_seed()) {
  // OpenAI's range: -100 bans a token, +100 all but forces it.
  for (const auto& [token, bias] : params.logit_bias) bias_.emplace_back(token, std::clamp(bias, -100.0f, 100.0f));
}

Sampled Sampler::sample(std::span<float> logits) {
  if (constraint_) apply_constraint(logits);
  for (const auto& [token, bias] : bias_) {
    if (token >= 0 && size_t(token) < logits.size()) logits[token] += bias;
  }
  penalties_.apply(logits);

  Sampled out;
  out.token = temperature_ == 0 ? argmax(logits) : draw(logits);
  if (logprobs_) {
    const double lse = log_sum_exp(logits);
    out.logprob = float(logits[out.token] - lse);
    out.top = best_logprobs(logits, top_logprobs_, lse);
  }
  return out;
}

void Sampler::accept(TokenId token) {
  penalties_.accept(token);
  if (constraint_) constraint_->accept(token);
}

void Sampler::apply_constraint(std::span<float> logits) {
  allowed_.assign((logits.size() + 63) / 64, 0);
  constraint_->allowed(allowed_);
  mask_logits(logits, allowed_);
}

Sampled score_token(std::span<const float> logits, TokenId token, size_t top) {
  const double lse = log_sum_exp(logits);
  return {token, float(logits[size_t(token)] - lse), best_logprobs(logits, top, lse)};
}

TokenId Sampler::draw(std::span<const float> logits) {
  candidates_.resize(logits.size());
  for (size_t i = 0; i < logits.size(); ++i) {
    // A NaN (a fault upstream) would break the ordering the truncations rely on.
    candidates_[i] = {std::isnan(logits[i]) ? -INFINITY : logits[i], TokenId(i)};
  }
  std::span<Candidate> kept(candidates_);
  kept = kept.first(keep_top_k(kept, top_k_));
  kept = kept.first(keep_top_p(kept, top_p_));
  kept = kept.first(keep_min_p(kept, min_p_));

  float max = -INFINITY;
  for (const Candidate& c : kept) max = std::max(max, c.logit);
  weights_.resize(kept.size());
  double total = 0;
  for (size_t i = 0; i < kept.size(); ++i) {
    weights_[i] = std::exp((kept[i].logit - max) / temperature_);
    total += weights_[i];
  }
  const double target = uniform() * total;
  double sum = 0;
  // The last token with any weight stands in should rounding leave `target` past the sum.
  TokenId chosen = kept.front().id;
  for (size_t i = 0; i < kept.size(); ++i) {
    if (!(weights_[i] > 0)) continue;
    sum += weights_[i];
    chosen = kept[i].id;
    if (target < sum) break;
  }
  return chosen;
}

double Sampler::uniform() { return double(rng_() >> 11) * 0x1.0p-53; }

}  // namespace rs::sampler
