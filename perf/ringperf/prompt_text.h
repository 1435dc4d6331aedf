#pragma once
// Prompt text of roughly N tokens: words drawn (seeded) from a fixed list of
// common English words, as many as N ÷ the server's tokens per word. The
// count is approximate by design; every statistic uses the server's usage.
#include <string>

#include "perf/ringperf/seeded_random.h"

namespace rs::ringperf {

// A typical BPE tokenizer on English, used when the server cannot tell us.
constexpr double kDefaultTokensPerWord = 1.3;

class PromptText {
 public:
  explicit PromptText(double tokens_per_word) : tokens_per_word_(tokens_per_word) {}

  // About `tokens` tokens of text (at least one word).
  std::string make(int tokens, Rng& rng) const;
  // Exactly `words` words.
  static std::string words(int words, Rng& rng);

 private:
  double tokens_per_word_;
};

}  // namespace rs::ringperf
