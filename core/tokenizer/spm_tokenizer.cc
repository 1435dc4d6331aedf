#include "core/tokenizer/spm_tokenizer.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <queue>

#include "core/tokenizer/pre_tokenizer.h"

namespace rs::tokenizer {
namespace {

constexpr std::string_view kSpaceMark = "\xE2\x96\x81";  // U+2581 "▁", SentencePiece's space

// Segments up to this many bytes merge in arrays on the stack, longer ones through a queue.
constexpr size_t kShortSegment = 64;

// A run of the text in the merge chain; n == 0 once merged into its left neighbour.
struct Symbol {
  size_t offset;
  size_t n;
  int prev;
  int next;
};

// An adjacent pair whose concatenation is a vocabulary token.
struct Bigram {
  int left;
  int right;
  float score;
  size_t size;  // bytes of the pair when queued, to spot pairs made stale by other merges
};

// Highest score first; on ties the leftmost pair, as llama.cpp's comparator orders them.
struct LowerPriority {
  bool operator()(const Bigram& a, const Bigram& b) const {
    return a.score < b.score || (a.score == b.score && a.left > b.left);
  }
};

// `score` as an unsigned number in the same order, above 0 (which stands for
// "no token"): IEEE-754 bits with the sign flipped, negatives reversed; -0 as
// +0, which compare equal.
uint32_t score_order(float score) {
  if (score == 0.0f) score = 0.0f;
  uint32_t bits;
  std::memcpy(&bits, &score, sizeof bits);
  const uint32_t order = (bits & 0x80000000u) != 0 ? ~bits : bits | 0x80000000u;
  return order == 0 ? 1 : order;  // only a NaN maps to 0
}

// Bytes of the symbol at `offset`: as many as its lead byte announces, unchecked
// and capped at the end, as llama.cpp cuts them, so invalid UTF-8 gives its byte tokens.
size_t utf8_length_at(std::string_view text, size_t offset) {
  constexpr uint8_t kByHighBits[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
  return std::min<size_t>(kByHighBits[uint8_t(text[offset]) >> 4], text.size() - offset);
}

// The text SentencePiece sees: spaces as "▁", with a leading "▁" when the vocabulary asks for it.
std::string escape_spaces(std::string_view text, bool add_space_prefix) {
  const auto spaces = size_t(std::count(text.begin(), text.end(), ' '));
  const size_t prefix = add_space_prefix ? kSpaceMark.size() : 0;
  std::string escaped(prefix + text.size() + spaces * (kSpaceMark.size() - 1), '\0');
  char* out = escaped.data();
  const auto put = [&](std::string_view part) {
    std::memcpy(out, part.data(), part.size());
    out += part.size();
  };
  if (add_space_prefix) put(kSpaceMark);
  for (size_t at = 0;;) {  // the text between spaces in one copy
    const size_t space = text.find(' ', at);
    put(text.substr(at, space == std::string_view::npos ? std::string_view::npos : space - at));
    if (space == std::string_view::npos) break;
    put(kSpaceMark);
    at = space + 1;
  }
  return escaped;
}

// Whether `token` holds a "▁" right after something other than "▁": a merge across the
// start of a word, which would make splitting the text into words change the result.
bool joins_word_to_space(std::string_view token) {
  for (size_t mark = token.find(kSpaceMark, 1); mark != std::string_view::npos;
       mark = token.find(kSpaceMark, mark + 1)) {
    if (mark < kSpaceMark.size() || token.substr(mark - kSpaceMark.size(), kSpaceMark.size()) != kSpaceMark) return true;
  }
  return false;
}

}  // namespace

std::string unescape_spaces(std::string_view text) {
  std::string unescaped;
  unescaped.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    if (text.substr(i, kSpaceMark.size()) == kSpaceMark) {
      unescaped += ' ';
      i += kSpaceMark.size();
    } else {
      unescaped += text[i++];
    }
  }
  return unescaped;
}

SpmTokenizer::SpmTokenizer(const Vocab& vocab)
    : vocab_(vocab) {
  tokens_.reserve(vocab.size());
  for (size_t id = 0; id < vocab.size(); ++id) {
    const std::string& token = vocab.tokens[id];
    longest_token_ = std::max(longest_token_, token.size());
    if (joins_word_to_space(token)) words_are_independent_ = false;
    if (vocab.id_of(token) == TokenId(id)) {
      tokens_.insert(token, {TokenId(id), score(TokenId(id)), score_order(score(TokenId(id))), false});
    }
  }
  for (size_t byte = 0; byte < byte_ids_.size(); ++byte) {
    char hex_name[8];
    std::snprintf(hex_name, sizeof hex_name, "<0x%02X>", unsigned(byte));
    const TokenId hex_id = vocab.id_of(hex_name);
    byte_ids_[byte] = hex_id >= 0 ? hex_id : vocab.id_of(std::string(1, char(byte)));
  }
  // Most words are tokens that merging gives back whole: one lookup for
  // them. (Last: encode_segment needs all of the above.)
  std::vector<TokenId> ids;
  for (size_t id = 0; id < vocab.size(); ++id) {
    const std::string& token = vocab.tokens[id];
    Token* entry = tokens_.find(token);
    if (token.empty() || entry == nullptr || entry->id != TokenId(id)) continue;
    ids.clear();
    encode_segment(token, ids);
    entry->whole = ids.size() == 1 && ids[0] == TokenId(id);
  }
}

void SpmTokenizer::append_bytes(std::string_view symbol, std::vector<TokenId>& out) const {
  for (const char c : symbol) {
    const TokenId id = byte_ids_[uint8_t(c)];
    // A vocabulary without byte tokens can only say "unknown" here.
    const TokenId fallback = id >= 0 ? id : vocab_.unk;
    if (fallback >= 0) out.push_back(fallback);
  }
}

std::vector<TokenId> SpmTokenizer::encode(std::string_view raw_text, bool space_prefix) const {
  std::vector<TokenId> out;
  if (raw_text.empty()) return out;  // llama.cpp makes no fragment, so not even the space prefix
  const std::string escaped = escape_spaces(raw_text, space_prefix);
  const std::string_view text = escaped;
  out.reserve(text.size() / 3);
  // An invalid lead byte's symbol may swallow the "▁" that starts the next word.
  if (!words_are_independent_ || needs_utf8_repair(raw_text)) {
    encode_segment(text, out);
    return out;
  }
  // Small per-word merge queues stay in cache; the ids are the same as one queue over the whole text.
  size_t begin = 0;
  for (size_t mark = text.find(kSpaceMark, 1); mark != std::string_view::npos;
       mark = text.find(kSpaceMark, mark + kSpaceMark.size())) {
    // A run of "▁" stays with the word after it (a mark nearer the start than its own width has none before it).
    if (mark >= kSpaceMark.size() && text.substr(mark - kSpaceMark.size(), kSpaceMark.size()) == kSpaceMark) continue;
    encode_segment(text.substr(begin, mark - begin), out);
    begin = mark;
  }
  encode_segment(text.substr(begin), out);
  return out;
}

void SpmTokenizer::append_symbol(std::string_view symbol, std::vector<TokenId>& out) const {
  // Merged symbols are always tokens; only single characters can be missing from the vocabulary.
  if (const Token* token = token_of(symbol)) {
    out.push_back(token->id);
  } else {
    append_bytes(symbol, out);
  }
}

void SpmTokenizer::encode_segment(std::string_view text, std::vector<TokenId>& out) const {
  if (text.empty()) return;
  if (const Token* token = token_of(text); token != nullptr && token->whole) {
    out.push_back(token->id);
    return;
  }
  if (text.size() <= kShortSegment) {
    encode_short_segment(text, out);
    return;
  }

  std::vector<Symbol> symbols;
  symbols.reserve(text.size());
  for (size_t offset = 0; offset < text.size();) {
    const size_t n = utf8_length_at(text, offset);
    const int index = int(symbols.size());
    offset += n;
    symbols.push_back({offset - n, n, index - 1, offset == text.size() ? -1 : index + 1});
  }

  std::vector<Bigram> queue_storage;
  queue_storage.reserve(symbols.size());
  std::priority_queue<Bigram, std::vector<Bigram>, LowerPriority> queue(LowerPriority{}, std::move(queue_storage));
  const auto try_add_bigram = [&](int left, int right) {
    if (left < 0 || right < 0) return;
    const size_t size = symbols[left].n + symbols[right].n;
    const Token* token = token_of(text.substr(symbols[left].offset, size));
    if (token == nullptr) return;
    queue.push({left, right, token->score, size});
  };
  for (int i = 1; i < int(symbols.size()); ++i) try_add_bigram(i - 1, i);

  while (!queue.empty()) {
    const Bigram bigram = queue.top();
    queue.pop();
    Symbol& left = symbols[bigram.left];
    Symbol& right = symbols[bigram.right];
    if (left.n == 0 || right.n == 0 || left.n + right.n != bigram.size) continue;
    left.n += right.n;
    right.n = 0;
    left.next = right.next;
    if (right.next >= 0) symbols[right.next].prev = bigram.left;
    try_add_bigram(left.prev, bigram.left);
    try_add_bigram(bigram.left, left.next);
  }

  for (int i = 0; i != -1; i = symbols[i].next) append_symbol(text.substr(symbols[i].offset, symbols[i].n), out);
}

// The queue's merges for a short segment, in arrays on the stack: every
// neighbour pair's token is known, so the next merge, the pair of highest
// score and the leftmost of equals, is a scan away.
void SpmTokenizer::encode_short_segment(std::string_view text, std::vector<TokenId>& out) const {
  uint32_t begin[kShortSegment + 1];
  // pair_*[i]: symbols i and i + 1 joined, when that is a token (else pair_order 0).
  uint32_t pair_order[kShortSegment];
  TokenId pair_id[kShortSegment];
  TokenId merged[kShortSegment];  // a symbol's token once merged; -1 before
  size_t count = 0;
  for (size_t offset = 0; offset < text.size(); offset += utf8_length_at(text, offset)) {
    begin[count++] = uint32_t(offset);
  }
  begin[count] = uint32_t(text.size());
  const auto find_pair = [&](size_t i) {
    const Token* token = token_of(text.substr(begin[i], begin[i + 2] - begin[i]));
    pair_id[i] = token != nullptr ? token->id : -1;
    pair_order[i] = token != nullptr ? token->order : 0;
  };
  for (size_t i = 0; i + 1 < count; ++i) {
    find_pair(i);
    merged[i] = -1;
  }
  merged[count - 1] = -1;
  while (count > 1) {
    size_t best = 0;
    uint32_t best_order = pair_order[0];
    for (size_t i = 1; i + 1 < count; ++i) {  // no branch to mispredict: conditional moves
      const bool better = pair_order[i] > best_order;
      best = better ? i : best;
      best_order = better ? pair_order[i] : best_order;
    }
    if (best_order == 0) break;
    merged[best] = pair_id[best];
    // Drop symbol best + 1: its begin, its merge, and the pair it started.
    for (size_t i = best + 1; i + 1 < count; ++i) {  // a few elements: no call to memmove
      begin[i] = begin[i + 1];
      merged[i] = merged[i + 1];
      if (i + 2 < count) {
        pair_id[i] = pair_id[i + 1];
        pair_order[i] = pair_order[i + 1];
      }
    }
    begin[count - 1] = begin[count];
    --count;
    if (best + 1 < count) find_pair(best);
    if (best > 0) find_pair(best - 1);
  }
  for (size_t i = 0; i < count; ++i) {
    if (merged[i] >= 0) {
      out.push_back(merged[i]);
    } else {
      append_symbol(text.substr(begin[i], begin[i + 1] - begin[i]), out);
    }
  }
}

std::string SpmTokenizer::piece(TokenId id) const {
  if (id < 0 || size_t(id) >= vocab_.size()) return {};
  const std::string& text = vocab_.tokens[size_t(id)];
  switch (vocab_.types[size_t(id)]) {
    case TokenType::normal:
      return unescape_spaces(text);
    case TokenType::user_defined:
      return text;
    case TokenType::byte:
      // "<0xNN>": the hex digits after "<0x".
      return text.size() > 3 ? std::string(1, char(std::strtol(text.c_str() + 3, nullptr, 16))) : std::string();
    default:
      return {};
  }
}

}  // namespace rs::tokenizer
