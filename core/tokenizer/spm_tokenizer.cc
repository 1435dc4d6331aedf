#include "core/tokenizer/spm_tokenizer.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <queue>

namespace rs::tokenizer {
namespace {

constexpr std::string_view kSpaceMark = "\xE2\x96\x81";  // U+2581 "▁", SentencePiece's space

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

// Bytes of the UTF-8 character at `offset`; 1 for a byte that does not start a
// complete sequence, so each invalid byte becomes its own symbol and falls back to its byte token.
size_t utf8_length_at(std::string_view text, size_t offset) {
  const auto lead = uint8_t(text[offset]);
  const size_t length = lead < 0x80 ? 1 : lead < 0xC0 ? 0 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : lead < 0xF8 ? 4 : 0;
  if (length == 0 || offset + length > text.size()) return 1;
  for (size_t i = 1; i < length; ++i) {
    if ((uint8_t(text[offset + i]) & 0xC0) != 0x80) return 1;
  }
  return length;
}

// The text SentencePiece sees: spaces as "▁", with a leading "▁" when the vocabulary asks for it.
std::string escape_spaces(std::string_view text, bool add_space_prefix) {
  std::string escaped;
  escaped.reserve(text.size() + text.size() / 2 + kSpaceMark.size());
  if (add_space_prefix) escaped += kSpaceMark;
  for (const char c : text) {
    if (c == ' ') {
      escaped += kSpaceMark;
    } else {
      escaped += c;
    }
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

}  // namespace

SpmTokenizer::SpmTokenizer(const Vocab& vocab)
    : vocab_(vocab) {
  for (const std::string& token : vocab.tokens) {
    longest_token_ = std::max(longest_token_, token.size());
    if (joins_word_to_space(token)) words_are_independent_ = false;
  }
  for (size_t byte = 0; byte < byte_ids_.size(); ++byte) {
    char hex_name[8];
    std::snprintf(hex_name, sizeof hex_name, "<0x%02X>", unsigned(byte));
    const TokenId hex_id = vocab.id_of(hex_name);
    byte_ids_[byte] = hex_id >= 0 ? hex_id : vocab.id_of(std::string(1, char(byte)));
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
  if (!words_are_independent_) {
    encode_segment(text, out);
    return out;
  }
  // Small per-word merge queues stay in cache; the ids are the same as one queue over the whole text.
  size_t begin = 0;
  for (size_t mark = text.find(kSpaceMark, 1); mark != std::string_view::npos;
       mark = text.find(kSpaceMark, mark + kSpaceMark.size())) {
    if (text.substr(mark - kSpaceMark.size(), kSpaceMark.size()) == kSpaceMark) continue;
    encode_segment(text.substr(begin, mark - begin), out);
    begin = mark;
  }
  encode_segment(text.substr(begin), out);
  return out;
}

void SpmTokenizer::encode_segment(std::string_view text, std::vector<TokenId>& out) const {
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
    if (size > longest_token_) return;  // spares a hash lookup that cannot succeed
    const TokenId id = vocab_.id_of(text.substr(symbols[left].offset, size));
    if (id < 0) return;
    queue.push({left, right, score(id), size});
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

  for (int i = 0; i != -1; i = symbols[i].next) {
    const std::string_view symbol = text.substr(symbols[i].offset, symbols[i].n);
    // Merged symbols are always tokens; only single characters can be missing from the vocabulary.
    if (const TokenId id = vocab_.id_of(symbol); id >= 0) {
      out.push_back(id);
    } else {
      append_bytes(symbol, out);
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
