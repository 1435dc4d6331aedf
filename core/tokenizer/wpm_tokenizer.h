#pragma once
// WordPiece of "bert" vocabularies (BERT, bge, all-MiniLM, e5, gte), giving
// the ids llama.cpp's llm_tokenizer_wpm gives. llama.cpp's converter stores a
// word's first piece with a "▁" prefix ("▁play") and a continuation piece
// without BERT's "##" ("ing").
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/tokenizer/text_table.h"
#include "core/tokenizer/vocab.h"

struct UNormalizer2;  // ICU's

namespace rs::tokenizer {

class WpmTokenizer {
 public:
  // Throws model::ModelError when the vocabulary has no unknown token, which
  // a word with no match becomes.
  explicit WpmTokenizer(const Vocab& vocab);

  // The ids of one run of raw text (no special tokens: the caller has cut them
  // out), without [CLS]/[SEP]. Any bytes are accepted, read as llama.cpp reads
  // them (a byte that starts no sequence is U+FFFD, which is dropped).
  std::vector<TokenId> encode(std::string_view text) const;

  // The text of `id`: a word's first piece starts with a space ("▁play" →
  // " play"), a continuation does not ("ing"); empty for control, unknown and
  // out-of-range ids (llama.cpp's token_to_piece with special = false).
  std::string piece(TokenId id) const;

 private:
  // What a code point does to the words around it (llama.cpp's preprocess).
  enum class Role : uint8_t {
    separates,  // whitespace: ends the word
    dropped,    // control, format, private-use, surrogate, U+FFFD; marks when stripping accents
    alone,      // punctuation, ASCII symbols, CJK ideographs: a word of its own
    joins,      // the rest: appended to the word
  };
  struct Normalized {
    Role role = Role::dropped;
    uint32_t cp = 0;  // what goes into the word: lowercased, its accents stripped
  };
  Normalized normalize(uint32_t cp) const;
  // Appends the ids of `word` ("▁" and its normalized text): the longest
  // token at each position from the left, or [UNK] alone when some position
  // starts no token.
  void encode_word(std::string_view word, std::vector<TokenId>& ids) const;

  const Vocab& vocab_;  // must outlive the tokenizer
  const UNormalizer2* nfd_;  // ICU's, never freed
  TextTable<TokenId> tokens_;  // text → the id vocab_.id_of gives
  size_t longest_token_ = 0;   // bytes
  std::array<Normalized, 128> ascii_;  // normalize() of every ASCII code point: most text
};

}  // namespace rs::tokenizer
