#pragma once
// UTF-8 validation and repair for text leaving the tokenizer: what
// Tokenizer::decode and the streaming StreamDecoder share, so that a stream of
// events always adds up to the one-shot decode.
//
// Ill-formed bytes become U+FFFD as Python's bytes.decode("utf-8",
// errors="replace") does (and so Hugging Face's decode of byte-level tokens):
// one U+FFFD per maximal subpart of an ill-formed sequence, the Unicode
// Standard's recommended practice (§3.9, "U+FFFD Substitution of Maximal
// Subparts"). Examples: "\xE6\x97" (a character cut short) → one U+FFFD;
// "\xED\xA0\x80" (a surrogate) → three; "\xC0\xAF" (overlong) → two;
// "\xFF" → one.
//
// Encoding is different: llama.cpp reads invalid input one U+FFFD per bad byte
// (pre_tokenizer.h's to_valid_utf8); this file is only about decoded text.
#include <cstddef>
#include <string>
#include <string_view>

namespace rs::tokenizer {

// Appends `bytes` to `out` as valid UTF-8, ill-formed parts replaced by U+FFFD.
// Returns how many bytes of `bytes` it consumed: all of them when `at_end`;
// otherwise it stops before a trailing incomplete sequence that more bytes
// could still complete (a proper prefix of a well-formed sequence: at most 3
// bytes), which the caller keeps and passes again, followed by what comes
// next. Feeding a text in any number of pieces this way, the last with
// `at_end`, appends exactly what one call with the whole text appends.
size_t append_replacing_invalid_utf8(std::string_view bytes, bool at_end, std::string& out);

// `bytes` with every ill-formed part replaced by U+FFFD (as above, at_end).
std::string replace_invalid_utf8(std::string_view bytes);

// Whether `bytes` is well-formed UTF-8 (no surrogates, overlongs, or code
// points past U+10FFFF; nothing cut short).
bool is_valid_utf8(std::string_view bytes);

}  // namespace rs::tokenizer
