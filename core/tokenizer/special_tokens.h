#pragma once
// Finding special tokens in text before it is tokenized, as llama.cpp's
// tokenizer_st_partition does: user-defined tokens always, control and
// unknown tokens only when the caller parses special tokens. Token types are
// llama.cpp's: it makes a few texts control tokens whatever the vocabulary
// says (Phi-3's user-defined "</s>" among them; see special_tokens.cc).
#include <array>
#include <span>
#include <string_view>
#include <vector>

#include "core/tokenizer/vocab.h"

namespace rs::tokenizer {

// A run of raw text to tokenize (id < 0), or a special token found in the text.
struct Fragment {
  std::string_view text;
  TokenId id = -1;
};

// The tokens that end generation, as llama.cpp's special_eog_ids: EOS, and the
// end-of-turn / end-of-message tokens known by their text ("<|eot_id|>",
// "<|im_end|>", "<end_of_turn>", …) where the vocabulary has them.
std::vector<TokenId> end_of_generation_tokens(const Vocab& vocab);

class SpecialTokens {
 public:
  explicit SpecialTokens(const Vocab& vocab);

  // `text` split into raw text and the special tokens in it. Longer tokens are
  // matched first over the whole text, then shorter ones in what is left, which
  // is llama.cpp's order; empty raw text between tokens is dropped. A token read
  // only with `parse_special` is not matched over a guarded byte (`guards`:
  // ascending offsets into `text`), which stays raw text.
  std::vector<Fragment> partition(std::string_view text, bool parse_special,
                                  std::span<const size_t> guards = {}) const;
  // The texts of the tokens read only with parse_special (control and unknown
  // tokens): what a client's text could forge in a prompt parsed that way.
  std::vector<std::string_view> parsed_texts() const;

 private:
  struct Special {
    std::string_view text;
    TokenId id;
    bool always;  // user-defined: matched even when special tokens are not parsed
    bool rstrip;  // eats the whitespace after it
  };
  // The tokens that occur anywhere in `text`, in matching order.
  std::vector<const Special*> present_in(std::string_view text, bool parse_special) const;

  std::vector<Special> specials_;  // longest first
  std::array<bool, 256> starts_special_{};  // first bytes of special tokens: a quick filter
};

}  // namespace rs::tokenizer
