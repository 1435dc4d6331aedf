#include "core/tokenizer/stream_decoder.h"

#include "core/tokenizer/utf8.h"

namespace rs::tokenizer {

StreamDecoder::StreamDecoder(const Tokenizer& tokenizer, bool strip_leading_space)
    : tokenizer_(tokenizer),
      // Tokenizer::decode's condition: only the tokenizer's own space is stripped.
      strip_leading_space_(strip_leading_space && tokenizer.adds_leading_space()) {}

std::string StreamDecoder::push(TokenId id) {
  std::string out;
  const std::string piece = tokenizer_.piece(id);  // empty for control tokens and ids outside the vocabulary
  if (piece.empty()) return out;
  pending_ += piece;
  drain(false, out);
  return out;
}

std::string StreamDecoder::finish() {
  std::string out;
  drain(true, out);
  pending_.clear();
  at_start_ = true;
  return out;
}

void StreamDecoder::drain(bool at_end, std::string& out) {
  const size_t consumed = append_replacing_invalid_utf8(pending_, at_end, out);
  pending_.erase(0, consumed);
  if (at_start_ && !out.empty()) {
    at_start_ = false;
    // A space is ASCII, never held back: it is the first byte of the first text emitted.
    if (strip_leading_space_ && out.front() == ' ') out.erase(0, 1);
  }
}

}  // namespace rs::tokenizer
