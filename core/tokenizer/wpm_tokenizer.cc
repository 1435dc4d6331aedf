#include "core/tokenizer/wpm_tokenizer.h"

#include <fmt/format.h>
#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/utf16.h>

#include <algorithm>
#include <stdexcept>

#include "core/model/model_error.h"
#include "core/tokenizer/pre_tokenizer.h"
#include "core/tokenizer/spm_tokenizer.h"

namespace rs::tokenizer {
namespace {

constexpr std::string_view kWordPrefix = "\xE2\x96\x81";  // U+2581 "▁"

constexpr uint32_t kControl = U_GC_CC_MASK | U_GC_CF_MASK | U_GC_CO_MASK | U_GC_CS_MASK;  // unassigned (Cn) is not

const UNormalizer2* nfd_instance() {
  UErrorCode status = U_ZERO_ERROR;
  const UNormalizer2* nfd = unorm2_getNFDInstance(&status);
  if (U_FAILURE(status)) throw std::runtime_error(fmt::format("ICU has no NFD data: {}", u_errorName(status)));
  return nfd;
}

// The first code point of the canonical decomposition of `cp`: its base
// letter, without the accents (llama.cpp's unicode_cpts_normalize_nfd).
uint32_t first_of_nfd(const UNormalizer2* nfd, uint32_t cp) {
  UChar decomposition[32];  // ample: the longest canonical decomposition is 6 UTF-16 units
  UErrorCode status = U_ZERO_ERROR;
  const int32_t length = unorm2_getDecomposition(nfd, UChar32(cp), decomposition, 32, &status);
  if (length <= 0 || U_FAILURE(status)) return cp;  // it has none
  int32_t at = 0;
  UChar32 first;
  U16_NEXT(decomposition, at, length, first);
  return uint32_t(first);
}

// llama.cpp's is_chinese_char (BERT's, but 0x2B920 where BERT has 0x2B820).
bool is_cjk_ideograph(uint32_t cp) {
  return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x20000 && cp <= 0x2A6DF) ||
         (cp >= 0x2A700 && cp <= 0x2B73F) || (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B920 && cp <= 0x2CEAF) ||
         (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

}  // namespace

WpmTokenizer::WpmTokenizer(const Vocab& vocab) : vocab_(vocab), nfd_(nfd_instance()) {
  if (vocab.unk < 0) {
    throw model::ModelError("a WordPiece vocabulary needs an unknown token (tokenizer.ggml.unknown_token_id)");
  }
  tokens_.reserve(vocab.size());
  for (size_t id = 0; id < vocab.size(); ++id) {
    const std::string& token = vocab.tokens[id];
    if (token.empty() || vocab.id_of(token) != TokenId(id)) continue;
    tokens_.insert(token, TokenId(id));
    longest_token_ = std::max(longest_token_, token.size());
  }
  for (uint32_t cp = 0; cp < ascii_.size(); ++cp) ascii_[cp] = normalize(cp);
}

WpmTokenizer::Normalized WpmTokenizer::normalize(uint32_t cp) const {
  // Past Unicode (a 4-byte sequence llama.cpp decodes anyway): llama.cpp
  // throws writing it into the word, failing the whole call; dropped here, as
  // U+FFFD is.
  if (cp > 0x10FFFF) return {Role::dropped, cp};
  if (vocab_.strip_accents) cp = first_of_nfd(nfd_, cp);
  if (u_isUWhiteSpace(UChar32(cp))) return {Role::separates, cp};
  const uint32_t category = U_GET_GC_MASK(UChar32(cp));
  if (cp == 0xFFFD || (category & kControl) != 0) return {Role::dropped, cp};
  if (vocab_.strip_accents && (category & U_GC_M_MASK) != 0) return {Role::dropped, cp};
  const bool alone = (category & U_GC_P_MASK) != 0 || (cp < 0x7F && (category & U_GC_S_MASK) != 0) ||
                     is_cjk_ideograph(cp);
  return {alone ? Role::alone : Role::joins, vocab_.lowercase ? uint32_t(u_tolower(UChar32(cp))) : cp};
}

std::vector<TokenId> WpmTokenizer::encode(std::string_view text) const {
  std::vector<TokenId> ids;
  std::string word(kWordPrefix);  // the word being read, after its "▁"
  const auto end_word = [&] {
    if (word.size() == kWordPrefix.size()) return;
    encode_word(word, ids);
    word.resize(kWordPrefix.size());
  };
  for (size_t at = 0; at < text.size();) {
    uint32_t cp = uint8_t(text[at]);
    if (cp < 0x80) {
      ++at;
    } else if (const size_t length = llama_sequence_length(text, at, cp); length > 0) {
      at += length;
    } else {  // U+FFFD to llama.cpp, which drops it
      ++at;
      continue;
    }
    const Normalized c = cp < ascii_.size() ? ascii_[cp] : normalize(cp);
    switch (c.role) {
      case Role::separates:
        end_word();
        break;
      case Role::dropped:
        break;
      case Role::alone:
        end_word();
        append_utf8(word, c.cp);
        end_word();
        break;
      case Role::joins:
        append_utf8(word, c.cp);
        break;
    }
  }
  end_word();
  return ids;
}

void WpmTokenizer::encode_word(std::string_view word, std::vector<TokenId>& ids) const {
  const size_t first = ids.size();
  for (size_t at = 0; at < word.size();) {
    size_t end = std::min(word.size(), at + longest_token_);
    const TokenId* match = nullptr;
    while (end > at && (match = tokens_.find(word.substr(at, end - at))) == nullptr) --end;
    if (match == nullptr) {
      ids.resize(first);
      ids.push_back(vocab_.unk);
      return;
    }
    ids.push_back(*match);
    at = end;
  }
}

std::string WpmTokenizer::piece(TokenId id) const {
  if (id < 0 || size_t(id) >= vocab_.size()) return {};
  const std::string& text = vocab_.tokens[size_t(id)];
  switch (vocab_.types[size_t(id)]) {
    case TokenType::normal:
      return unescape_spaces(text);
    case TokenType::user_defined:
      return text;
    default:
      return {};
  }
}

}  // namespace rs::tokenizer
