#include "core/tokenizer/bpe_tokenizer.h"

#include <algorithm>
#include <queue>

#include <fmt/format.h>

#include "core/model/model_error.h"
#include "core/tokenizer/byte_unicode.h"

namespace rs::tokenizer {
namespace {

size_t utf8_length(char lead) {
  constexpr size_t kByHighBits[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
  return kByHighBits[uint8_t(lead) >> 4];
}

// One symbol of a word being merged: a span of it, linked to its neighbours.
struct Symbol {
  size_t begin = 0, size = 0;  // size 0: merged into its left neighbour
  int prev = -1, next = -1;
};

// A mergeable neighbour pair, stale once either side's size has changed.
struct Bigram {
  int rank = 0;
  int left = 0, right = 0;
  size_t left_size = 0, right_size = 0;
  // Lowest rank first, then leftmost: llama.cpp's llm_bigram_bpe::comparator.
  bool operator<(const Bigram& other) const {
    return rank > other.rank || (rank == other.rank && left > other.left);
  }
};

std::string merge_key(std::string_view left, std::string_view right) {
  std::string key;
  key.reserve(left.size() + 1 + right.size());
  key.append(left).append(" ").append(right);
  return key;
}

}  // namespace

BpeTokenizer::BpeTokenizer(const Vocab& vocab)
    : vocab_(vocab), pre_tokenizer_(vocab.pre) {
  if (vocab.model != "gpt2") {
    throw model::ModelError(fmt::format("tokenizer.ggml.model \"{}\" is not byte-level BPE (gpt2)", vocab.model));
  }
  for (size_t rank = 0; rank < vocab.merges.size(); ++rank) {
    ranks_.emplace(merge_key(vocab.merges[rank].first, vocab.merges[rank].second), int32_t(rank));
  }
}

int BpeTokenizer::rank_of(std::string_view left, std::string_view right) const {
  const auto it = ranks_.find(merge_key(left, right));
  return it == ranks_.end() ? -1 : it->second;
}

std::vector<TokenId> BpeTokenizer::encode(std::string_view text) const {
  std::vector<TokenId> ids;
  const std::string valid = to_valid_utf8(text);
  for (std::string_view word : pre_tokenizer_.split(valid)) encode_word(bytes_to_unicode(word), ids);
  return ids;
}

void BpeTokenizer::encode_word(std::string_view word, std::vector<TokenId>& ids) const {
  std::vector<Symbol> symbols;
  if (pre_tokenizer_.ignore_merges() && vocab_.id_of(word) >= 0) {
    symbols.push_back({0, word.size(), -1, -1});
  } else {
    for (size_t at = 0; at < word.size();) {
      const size_t size = std::min(word.size() - at, utf8_length(word[at]));
      const int index = int(symbols.size());
      symbols.push_back({at, size, index - 1, at + size == word.size() ? -1 : index + 1});
      at += size;
    }
  }
  const auto text_of = [&](const Symbol& s) { return word.substr(s.begin, s.size); };

  std::priority_queue<Bigram> queue;
  const auto add_bigram = [&](int left, int right) {
    if (left < 0 || right < 0) return;
    const int rank = rank_of(text_of(symbols[left]), text_of(symbols[right]));
    if (rank >= 0) queue.push({rank, left, right, symbols[left].size, symbols[right].size});
  };
  for (int i = 1; i < int(symbols.size()); ++i) add_bigram(i - 1, i);

  while (!queue.empty()) {
    const Bigram bigram = queue.top();
    queue.pop();
    Symbol& left = symbols[bigram.left];
    Symbol& right = symbols[bigram.right];
    if (left.size != bigram.left_size || right.size != bigram.right_size || right.size == 0) continue;
    left.size += right.size;
    right.size = 0;
    left.next = right.next;
    if (right.next >= 0) symbols[right.next].prev = bigram.left;
    add_bigram(left.prev, bigram.left);
    add_bigram(bigram.left, left.next);
  }

  for (const Symbol& symbol : symbols) {
    if (symbol.size == 0) continue;
    const std::string_view text = text_of(symbol);
    if (const TokenId id = vocab_.id_of(text); id >= 0) {
      ids.push_back(id);
      continue;
    }
    // llama.cpp's fallback: each byte of the symbol that is a token by itself.
    for (const char byte : text) {
      if (const TokenId id = vocab_.id_of(std::string_view(&byte, 1)); id >= 0) ids.push_back(id);
    }
  }
}

std::string BpeTokenizer::piece(TokenId id) const {
  if (id < 0 || size_t(id) >= vocab_.size()) return {};
  const std::string& text = vocab_.tokens[id];
  if (vocab_.types[id] == TokenType::user_defined) return text;  // stored as plain text
  if (vocab_.types[id] != TokenType::normal) return {};
  std::string bytes;
  for (size_t at = 0; at < text.size();) {
    const size_t size = std::min(text.size() - at, utf8_length(text[at]));
    const std::string_view symbol(text.data() + at, size);
    if (const auto byte = unicode_to_byte(symbol)) {
      bytes += char(*byte);
    } else {  // what llama.cpp's llama_decode_text writes for a character outside the alphabet
      bytes += "[UNK_BYTE_0x";
      for (const char c : symbol) bytes += fmt::format("{:02x}", uint8_t(c));
      bytes += text + "]";
    }
    at += size;
  }
  return bytes;
}

}  // namespace rs::tokenizer
