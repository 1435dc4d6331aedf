#pragma once
// SentencePiece-style tokenizer of "llama" GGUF vocabularies, id-for-id with
// llama.cpp's llm_tokenizer_spm, and its inverse (llama.cpp's token_to_piece).
#include <array>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/tokenizer/vocab.h"

namespace rs::tokenizer {

class SpmTokenizer {
 public:
  explicit SpmTokenizer(const Vocab& vocab);

  // Token ids of `text`, without BOS/EOS: the caller adds them.
  std::vector<TokenId> encode(std::string_view text) const;

  // The bytes token `id` stands for; empty for control, unknown, unused and
  // out-of-range ids (llama.cpp's token_to_piece with special = false).
  std::string piece(TokenId id) const;

 private:
  // Lets the token map be searched with a string_view, without a copy.
  struct TextHash {
    using is_transparent = void;
    size_t operator()(std::string_view text) const { return std::hash<std::string_view>{}(text); }
  };

  TokenId id_of(std::string_view text) const;
  // Merges and maps one run of text: the whole text, or one word of it.
  void encode_segment(std::string_view text, std::vector<TokenId>& out) const;
  void append_bytes(std::string_view symbol, std::vector<TokenId>& out) const;

  std::vector<std::string> tokens_;
  std::vector<float> scores_;
  std::vector<TokenType> types_;
  std::unordered_map<std::string, TokenId, TextHash, std::equal_to<>> ids_;
  std::array<TokenId, 256> byte_ids_{};  // byte → its <0xNN> token (or the byte's own text token)
  size_t longest_token_ = 0;  // bytes
  TokenId unk_ = -1;
  bool words_are_independent_ = true;  // no token joins a word to the "▁" after it
  bool add_space_prefix_ = true;
};

}  // namespace rs::tokenizer
