#pragma once
// A model's tokenizer: the algorithm its vocabulary names (SentencePiece,
// byte-level BPE or WordPiece), plus the tokens the model expects around the
// text (BOS/EOS, or WordPiece's [CLS]/[SEP]).
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/tokenizer/bpe_tokenizer.h"
#include "core/tokenizer/special_tokens.h"
#include "core/tokenizer/spm_tokenizer.h"
#include "core/tokenizer/vocab.h"
#include "core/tokenizer/wpm_tokenizer.h"

namespace rs::tokenizer {

class Tokenizer {
 public:
  // Throws model::ModelError for a vocabulary it cannot tokenize.
  explicit Tokenizer(Vocab vocab);

  // Token ids of `text`, with BOS/EOS when `add_special` and the vocabulary
  // adds them, or a WordPiece vocabulary's [CLS] … [SEP] (always, as
  // llama.cpp: add_bos plays no part). Control tokens written in the text
  // (say "<|eot_id|>") become their ids only when `parse_special`, and never
  // over a guarded byte (`guards`: ascending offsets into `text`): user text
  // must not forge them.
  std::vector<TokenId> encode(std::string_view text, bool add_special, bool parse_special = false,
                              std::span<const size_t> guards = {}) const;
  // The texts encode() reads as special tokens only with parse_special (control and unknown tokens).
  std::vector<std::string_view> parsed_special_texts() const { return special_tokens_.parsed_texts(); }
  // The text of `ids` (control tokens such as BOS and ids outside the
  // vocabulary contribute nothing), always valid UTF-8: bytes that do not form
  // valid UTF-8 become U+FFFD as Hugging Face's decode (errors="replace")
  // makes them, one per maximal ill-formed subpart (utf8.h). One leading
  // space is dropped where it is the tokenizer's (adds_leading_space).
  // StreamDecoder gives the same text token by token.
  std::string decode(std::span<const TokenId> ids) const;
  std::string piece(TokenId id) const;
  // Whether encoding puts a space before the text's first word that is not
  // the text's: SentencePiece's "▁" prefix (add_space_prefix), and WordPiece's,
  // before every word ("▁hello" → " hello").
  bool adds_leading_space() const;
  const Vocab& vocab() const { return *vocab_; }

 private:
  std::unique_ptr<const Vocab> vocab_;  // the algorithms keep a reference to it
  std::variant<SpmTokenizer, BpeTokenizer, WpmTokenizer> algorithm_;
  SpecialTokens special_tokens_;
  TokenId opening_token_ = -1, closing_token_ = -1;  // what add_special puts around the text; -1: nothing
};

}  // namespace rs::tokenizer
