#pragma once
// Byte-level BPE of "gpt2" vocabularies, giving the ids llama.cpp's
// llm_tokenizer_bpe gives.
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/tokenizer/pre_tokenizer.h"
#include "core/tokenizer/text_table.h"
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
  // Merging works on symbol ids rather than text: a token's id for text that
  // is a token, ids from vocab_.size() on for text that the merges name but
  // the vocabulary lacks (a broken vocabulary), -1 for a byte whose character
  // is in neither. Equal ids at the same place in a word are equal text.
  using SymbolId = int32_t;
  struct Merge {
    int32_t rank = -1;    // -1: the pair does not merge
    SymbolId result = -1;  // the symbol of the two sides' text joined
  };
  struct MergeSlot {
    uint64_t key = UINT64_MAX;  // left << 32 | right; UINT64_MAX: empty
    Merge merge;
  };

  Merge merge_of(SymbolId left, SymbolId right) const;
  void prefetch_merge(SymbolId left, SymbolId right) const;  // of merge_of's slot
  // Ids of one piece of the pre-tokenizer, in raw bytes: whole-word lookup
  // (`probe` is word_tokens_'s for `word`), else merges.
  void encode_word(std::string_view word, TextTable<TokenId>::Probe probe, std::vector<TokenId>& ids) const;
  void merge_short_word(std::string_view word, std::vector<TokenId>& ids) const;
  void merge_long_word(std::string_view word, std::vector<TokenId>& ids) const;
  // The ids of a symbol left after merging: its token, or llama.cpp's fallback.
  void emit(SymbolId symbol, std::string_view bytes, std::vector<TokenId>& ids) const;

  const Vocab& vocab_;  // must outlive the tokenizer
  PreTokenizer pre_tokenizer_;
  std::array<SymbolId, 256> byte_symbols_{};  // byte → the symbol of its character
  std::vector<MergeSlot> merges_;             // open addressing, a power of two in size
  // The raw bytes of a word → the one token that encoding it gives: any token
  // when llama.cpp skips the merges for whole-token words (ignore_merges),
  // else the tokens that merging their own bytes gives back.
  TextTable<TokenId> word_tokens_;
};

}  // namespace rs::tokenizer
