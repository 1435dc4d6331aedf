#include "core/tokenizer/bpe_tokenizer.h"

#include <algorithm>
#include <climits>
#include <optional>
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

// Words up to this many bytes merge by scanning all neighbour pairs for the
// best (quadratic, in arrays on the stack); longer ones through a queue.
constexpr size_t kShortWord = 64;

uint64_t merge_key(int32_t left, int32_t right) { return uint64_t(uint32_t(left)) << 32 | uint32_t(right); }
size_t merge_hash(uint64_t key) { return size_t((key * 0x9E3779B97F4A7C15ull) >> 20); }

// `bytes` as the vocabulary spells them, or nullopt for text outside the byte alphabet.
std::optional<std::string> raw_bytes_of(std::string_view text) {
  std::string bytes;
  for (size_t at = 0; at < text.size();) {
    const size_t size = std::min(text.size() - at, utf8_length(text[at]));
    const auto byte = unicode_to_byte(text.substr(at, size));
    if (!byte) return std::nullopt;
    bytes += char(*byte);
    at += size;
  }
  return bytes;
}

// A symbol of a long word being merged, linked to its neighbours.
struct LinkedSymbol {
  int32_t id = -1;  // kMerged: merged into its left neighbour
  uint32_t begin = 0;
  int prev = -1, next = -1;
};
constexpr int32_t kMerged = INT32_MIN;

// A mergeable neighbour pair, stale once either side has changed.
struct RankedPair {
  int32_t rank = 0;
  int left = 0, right = 0;
  int32_t left_id = 0, right_id = 0;
  // Lowest rank first, then leftmost: llama.cpp's llm_bigram_bpe::comparator.
  bool operator<(const RankedPair& other) const {
    return rank > other.rank || (rank == other.rank && left > other.left);
  }
};

}  // namespace

BpeTokenizer::BpeTokenizer(const Vocab& vocab)
    : vocab_(vocab), pre_tokenizer_(vocab.pre) {
  if (vocab.model != "gpt2") {
    throw model::ModelError(fmt::format("tokenizer.ggml.model \"{}\" is not byte-level BPE (gpt2)", vocab.model));
  }
  // Symbol ids for every text the merges name: vocab_.id_of's, from a table
  // faster to build and read than its map.
  TextTable<SymbolId> symbols;
  symbols.reserve(vocab.size() + vocab.size() / 8);
  for (size_t id = 0; id < vocab.size(); ++id) {
    const std::string& text = vocab.tokens[id];
    if (!symbols.insert(text, TokenId(id))) *symbols.find(text) = vocab.id_of(text);  // duplicated text
  }
  SymbolId next_missing = SymbolId(vocab.size());  // text that is not a token
  const auto symbol_of = [&](std::string_view text, bool add) -> SymbolId {
    if (const SymbolId* id = symbols.find(text)) return *id;
    if (!add) return -1;
    symbols.insert(text, next_missing);
    return next_missing++;
  };
  size_t capacity = 16;
  while (capacity < vocab.merges.size() + vocab.merges.size() / 2) capacity *= 2;
  merges_.resize(capacity);
  std::string joined;
  for (size_t rank = 0; rank < vocab.merges.size(); ++rank) {
    const auto& [left, right] = vocab.merges[rank];
    joined.assign(left).append(right);
    const uint64_t key = merge_key(symbol_of(left, true), symbol_of(right, true));
    for (size_t at = merge_hash(key) & (capacity - 1);; at = (at + 1) & (capacity - 1)) {
      if (merges_[at].key == key) break;  // a repeated pair keeps its first rank, as llama.cpp's emplace does
      if (merges_[at].key == UINT64_MAX) {
        merges_[at] = {key, {int32_t(rank), symbol_of(joined, true)}};
        break;
      }
    }
  }
  for (size_t byte = 0; byte < 256; ++byte) byte_symbols_[byte] = symbol_of(byte_to_unicode(uint8_t(byte)), false);

  // Whole-word tokens: the raw bytes of every token spelled in the byte
  // alphabet (only those can equal a word).
  word_tokens_.reserve(vocab.size());
  std::vector<TokenId> ids;
  for (size_t id = 0; id < vocab.size(); ++id) {
    if (*symbols.find(vocab.tokens[id]) != TokenId(id)) continue;  // a duplicate: the text's id is another
    const std::optional<std::string> bytes = raw_bytes_of(vocab.tokens[id]);
    if (!bytes || bytes->empty()) continue;
    if (!pre_tokenizer_.ignore_merges()) {
      ids.clear();
      if (bytes->size() <= kShortWord) merge_short_word(*bytes, ids);
      else merge_long_word(*bytes, ids);
      if (ids.size() != 1 || ids[0] != TokenId(id)) continue;
    }
    word_tokens_.insert(*bytes, TokenId(id));
  }
}

BpeTokenizer::Merge BpeTokenizer::merge_of(SymbolId left, SymbolId right) const {
  if (left < 0 || right < 0) return {};
  const uint64_t key = merge_key(left, right);
  const size_t mask = merges_.size() - 1;
  for (size_t at = merge_hash(key) & mask;; at = (at + 1) & mask) {
    const MergeSlot& slot = merges_[at];
    if (slot.key == key) return slot.merge;
    if (slot.key == UINT64_MAX) return {};
  }
}

void BpeTokenizer::prefetch_merge(SymbolId left, SymbolId right) const {
  __builtin_prefetch(&merges_[merge_hash(merge_key(left, right)) & (merges_.size() - 1)]);
}

std::vector<TokenId> BpeTokenizer::encode(std::string_view text) const {
  std::vector<TokenId> ids;
  ids.reserve(text.size() / 3);
  std::string repaired;
  if (needs_utf8_repair(text)) {
    repaired = to_valid_utf8(text);
    text = repaired;
  }
  // Words in batches: the lookups of a batch's words wait for memory together.
  constexpr size_t kBatch = 16;
  std::string_view batch[kBatch];
  TextTable<TokenId>::Probe probes[kBatch];
  size_t batched = 0;
  const auto flush = [&] {
    for (size_t i = 0; i < batched; ++i) probes[i] = word_tokens_.probe(batch[i]);
    for (size_t i = 0; i < batched; ++i) encode_word(batch[i], probes[i], ids);
    batched = 0;
  };
  pre_tokenizer_.for_each_piece(text, [&](std::string_view word) {
    batch[batched++] = word;
    if (batched == kBatch) flush();
  });
  flush();
  return ids;
}

void BpeTokenizer::encode_word(std::string_view word, TextTable<TokenId>::Probe probe,
                               std::vector<TokenId>& ids) const {
  if (const TokenId* id = word_tokens_.find(word, probe)) {
    ids.push_back(*id);
  } else if (word.size() <= kShortWord) {
    merge_short_word(word, ids);
  } else {
    merge_long_word(word, ids);
  }
}

// llama.cpp's merge order: always the pair of lowest rank, the leftmost of
// equals. Every neighbour pair's merge is known, so the best is a scan away.
void BpeTokenizer::merge_short_word(std::string_view word, std::vector<TokenId>& ids) const {
  SymbolId symbol[kShortWord];
  uint32_t begin[kShortWord + 1];
  Merge pair[kShortWord];  // pair[i]: symbol i with symbol i + 1
  size_t count = word.size();
  for (size_t i = 0; i < count; ++i) {
    symbol[i] = byte_symbols_[uint8_t(word[i])];
    begin[i] = uint32_t(i);
  }
  begin[count] = uint32_t(count);
  for (size_t i = 0; i + 1 < count; ++i) prefetch_merge(symbol[i], symbol[i + 1]);
  for (size_t i = 0; i + 1 < count; ++i) pair[i] = merge_of(symbol[i], symbol[i + 1]);
  while (count > 1) {
    // As unsigned, "no merge" (-1) is the highest rank of all.
    size_t best = 0;
    auto best_rank = uint32_t(pair[0].rank);
    for (size_t i = 1; i + 1 < count; ++i) {  // no branch to mispredict: conditional moves
      const auto rank = uint32_t(pair[i].rank);
      const bool better = rank < best_rank;
      best = better ? i : best;
      best_rank = better ? rank : best_rank;
    }
    if (best_rank == UINT32_MAX) break;
    symbol[best] = pair[best].result;
    // Drop symbol best + 1, its begin, and the pair it started.
    for (size_t i = best + 1; i + 1 < count; ++i) {  // a few elements: no call to memmove
      symbol[i] = symbol[i + 1];
      begin[i] = begin[i + 1];
      if (i + 2 < count) pair[i] = pair[i + 1];
    }
    begin[count - 1] = begin[count];
    --count;
    if (best + 1 < count) pair[best] = merge_of(symbol[best], symbol[best + 1]);
    if (best > 0) pair[best - 1] = merge_of(symbol[best - 1], symbol[best]);
  }
  for (size_t i = 0; i < count; ++i) emit(symbol[i], word.substr(begin[i], begin[i + 1] - begin[i]), ids);
}

// The same merges with llama.cpp's queue, for words too long to rescan.
void BpeTokenizer::merge_long_word(std::string_view word, std::vector<TokenId>& ids) const {
  std::vector<LinkedSymbol> symbols(word.size());
  for (size_t i = 0; i < word.size(); ++i) {
    symbols[i] = {byte_symbols_[uint8_t(word[i])], uint32_t(i), int(i) - 1, i + 1 == word.size() ? -1 : int(i) + 1};
  }
  std::vector<RankedPair> storage;
  storage.reserve(word.size());
  std::priority_queue<RankedPair> queue(std::less<RankedPair>{}, std::move(storage));
  const auto add_bigram = [&](int left, int right) {
    if (left < 0 || right < 0) return;
    const Merge merge = merge_of(symbols[left].id, symbols[right].id);
    if (merge.rank >= 0) queue.push({merge.rank, left, right, symbols[left].id, symbols[right].id});
  };
  for (int i = 1; i < int(symbols.size()); ++i) add_bigram(i - 1, i);

  while (!queue.empty()) {
    const RankedPair bigram = queue.top();
    queue.pop();
    LinkedSymbol& left = symbols[bigram.left];
    LinkedSymbol& right = symbols[bigram.right];
    if (left.id != bigram.left_id || right.id != bigram.right_id) continue;  // stale
    left.id = merge_of(left.id, right.id).result;
    right.id = kMerged;
    left.next = right.next;
    if (right.next >= 0) symbols[right.next].prev = bigram.left;
    add_bigram(left.prev, bigram.left);
    add_bigram(bigram.left, left.next);
  }

  for (int i = 0; i != -1; i = symbols[i].next) {
    const uint32_t end = symbols[i].next >= 0 ? symbols[symbols[i].next].begin : uint32_t(word.size());
    emit(symbols[i].id, word.substr(symbols[i].begin, end - symbols[i].begin), ids);
  }
}

void BpeTokenizer::emit(SymbolId symbol, std::string_view bytes, std::vector<TokenId>& ids) const {
  if (symbol >= 0 && size_t(symbol) < vocab_.size()) {
    ids.push_back(symbol);
    return;
  }
  // Not a token. llama.cpp's fallback: each byte of the symbol's text (in
  // the byte alphabet) that is a token by itself.
  for (const char byte : bytes_to_unicode(bytes)) {
    if (const TokenId id = vocab_.id_of(std::string_view(&byte, 1)); id >= 0) ids.push_back(id);
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
