#pragma once
// GPT-2's byte-level alphabet: every byte has a printable Unicode stand-in
// (space → "Ġ", newline → "Ċ"), so BPE vocabularies hold only printable text.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace rs::tokenizer {

// The UTF-8 of the character standing for `byte`.
std::string_view byte_to_unicode(uint8_t byte);

// `bytes` spelled in the byte alphabet.
std::string bytes_to_unicode(std::string_view bytes);

// The byte that the single UTF-8 character `symbol` stands for; nullopt when
// it is not a character of the alphabet.
std::optional<uint8_t> unicode_to_byte(std::string_view symbol);

}  // namespace rs::tokenizer
