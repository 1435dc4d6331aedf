#pragma once
// Byte-level BPE of "gpt2" vocabularies, giving the ids llama.cpp's
// llm_tokenizer_bpe gives.
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/tokenizer/pre_tokenizer.h"
#include "core/tokenizer/vocab.h"

namespace rs::tokenizer {

class BpeTokenizer {
 public:
  // Throws model::ModelError for a pre-tokenizer it does not support.
  explicit BpeTokenizer(const Vocab& vocab);

  // The ids of one run of raw text (no special tokens: the caller has cut them
  // out), without BOS/EOS. Any bytes are accepted: invalid UTF-8 is read as
  // U+FFFD, as llama.cpp does.
  std::vector<TokenId> encode(std::string_view text) const;

  // The bytes `id` stands for; empty for control and other special tokens.
  std::string piece(TokenId id) const;

 private:
  void encode_word(std::string_view word, std::vector<TokenId>& ids) const;
  int rank_of(std::string_view left, std::string_view right) const;

  const Vocab& vocab_;  // must outlive the tokenizer
  TextMap<int32_t> ranks_;  // "left right" → merge rank (merges never hold a space)
  PreTokenizer pre_tokenizer_;
};

}  // namespace rs::tokenizer
