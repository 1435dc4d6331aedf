#pragma once
// SentencePiece-style tokenizer of "llama" GGUF vocabularies, id-for-id with
// llama.cpp's llm_tokenizer_spm, and its inverse (llama.cpp's token_to_piece).
#include <array>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/tokenizer/text_table.h"
#include "core/tokenizer/vocab.h"

namespace rs::tokenizer {

// `text` with every "▁" (U+2581) read as the space it stands for, as
// llama.cpp's llama_unescape_whitespace.
std::string unescape_spaces(std::string_view text);

class SpmTokenizer {
 public:
  explicit SpmTokenizer(const Vocab& vocab);

  // Token ids of one run of raw text (the caller has cut out special tokens),
  // without BOS/EOS; `space_prefix` puts SentencePiece's "▁" before it.
  std::vector<TokenId> encode(std::string_view text, bool space_prefix) const;

  // The bytes token `id` stands for; empty for control, unknown, unused and
  // out-of-range ids (llama.cpp's token_to_piece with special = false).
  std::string piece(TokenId id) const;

 private:
  struct Token {
    TokenId id = -1;
    float score = 0;
    uint32_t order = 0;  // of the score, as an unsigned number (0 for none)
    bool whole = false;  // a segment of just this text encodes to just this token
  };
  float score(TokenId id) const { return vocab_.scores.empty() ? 0.0f : vocab_.scores[size_t(id)]; }
  // The token whose text is `text`, or nullptr.
  const Token* token_of(std::string_view text) const {
    return text.size() > longest_token_ ? nullptr : tokens_.find(text);
  }
  // Merges and maps one run of text: the whole text, or one word of it.
  void encode_segment(std::string_view text, std::vector<TokenId>& out) const;
  void encode_short_segment(std::string_view text, std::vector<TokenId>& out) const;
  void append_symbol(std::string_view symbol, std::vector<TokenId>& out) const;
  void append_bytes(std::string_view symbol, std::vector<TokenId>& out) const;

  const Vocab& vocab_;  // must outlive the tokenizer
  TextTable<Token> tokens_;  // text → the id vocab_.id_of gives, and its score
  std::array<TokenId, 256> byte_ids_{};  // byte → its <0xNN> token (or the byte's own text token)
  size_t longest_token_ = 0;  // bytes
  bool words_are_independent_ = true;  // no token joins a word to the "▁" after it
};

}  // namespace rs::tokenizer
