#pragma once
// Decoding generated tokens one at a time for streaming (SSE events): every
// piece of text it returns is valid UTF-8, and no character is split across
// two of them.
//
// A token may stand for part of a character: SentencePiece's byte tokens
// (<0xE6><0x97><0xA5> is "日") and byte-level BPE tokens that end inside a
// multi-byte character. The decoder holds back the trailing bytes of such an
// incomplete character (at most 3) until the tokens that complete it arrive.
//
// Bytes that cannot become valid UTF-8 are replaced by U+FFFD as Hugging
// Face's decode does (Python's bytes.decode("utf-8", errors="replace"): one
// U+FFFD per maximal ill-formed subpart; see utf8.h), as soon as they are
// known to be invalid: an invalid sequence in the middle of the stream is
// replaced when the next byte shows it, never held. finish() replaces a
// character still incomplete at the end of the stream by one U+FFFD.
//
// The invariant: for any sequence of ids, the concatenation of every push()
// and then finish() equals Tokenizer::decode of the whole sequence (which
// replaces the same way), given the same leading-space choice (below).
//
// Like Tokenizer::piece, control tokens (BOS, EOS, …) and ids outside the
// vocabulary add nothing: a caller that passes an id outside the vocabulary
// has a bug of its own, which is ignored here rather than crashing; such an
// id does not disturb a character in progress around it.
#include <string>

#include "core/tokenizer/tokenizer.h"

namespace rs::tokenizer {

class StreamDecoder {
 public:
  // `tokenizer` must outlive the decoder.
  //
  // `strip_leading_space`: the ids are a text from its start, tokenized with
  // a "▁" prefix (Tokenizer::adds_leading_space: SentencePiece with
  // add_space_prefix, or WordPiece), so the first space of the text is the
  // tokenizer's, not the text's: exactly one leading space is dropped from
  // the first text emitted, as Tokenizer::decode drops it. It has no effect
  // for vocabularies that add no prefix. Off by default, for continuing after
  // a prompt, where a generated word's leading space ("▁world" → " world")
  // belongs to the text.
  explicit StreamDecoder(const Tokenizer& tokenizer, bool strip_leading_space = false);

  // The text that `id` completes: possibly empty (a control token, or bytes
  // of a character still incomplete), possibly more than its own piece (the
  // bytes held back before it).
  std::string push(TokenId id);

  // What is still held back: an incomplete character becomes one U+FFFD. The
  // decoder is then as newly constructed, ready for another stream.
  std::string finish();

  // Bytes held back for a character not yet complete: 0 to 3.
  size_t pending_bytes() const { return pending_.size(); }

 private:
  // Appends the valid text of pending_ to `out`, keeping only an incomplete tail unless `at_end`.
  void drain(bool at_end, std::string& out);

  const Tokenizer& tokenizer_;
  bool strip_leading_space_;
  bool at_start_ = true;  // no byte has been decoded yet
  std::string pending_;
};

}  // namespace rs::tokenizer
