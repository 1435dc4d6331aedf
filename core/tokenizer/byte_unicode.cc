#include "core/tokenizer/byte_unicode.h"

#include <array>

namespace rs::tokenizer {
namespace {

std::string utf8_of(uint32_t cp) {
  std::string out;
  if (cp < 0x80) {
    out += char(cp);
  } else {  // the alphabet never goes past U+0143
    out += char(0xC0 | (cp >> 6));
    out += char(0x80 | (cp & 0x3F));
  }
  return out;
}

// GPT-2's bytes_to_unicode(): printable Latin-1 bytes stand for themselves,
// the rest take U+0100 onwards in byte order.
std::array<std::string, 256> make_alphabet() {
  std::array<std::string, 256> alphabet;
  uint32_t next_spare = 256;
  for (uint32_t b = 0; b < 256; ++b) {
    const bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    alphabet[b] = utf8_of(printable ? b : next_spare++);
  }
  return alphabet;
}

const std::array<std::string, 256>& alphabet() {
  static const std::array<std::string, 256> table = make_alphabet();
  return table;
}

// The alphabet's characters, U+0021 to U+0143, back to their bytes: -1 for
// code points that stand for no byte.
constexpr uint32_t kAlphabetEnd = 0x144;
const std::array<int16_t, kAlphabetEnd>& reverse_alphabet() {
  static const std::array<int16_t, kAlphabetEnd> table = [] {
    std::array<int16_t, kAlphabetEnd> reverse;
    reverse.fill(-1);
    for (size_t b = 0; b < 256; ++b) {
      const std::string& utf8 = alphabet()[b];
      const uint32_t cp =
          utf8.size() == 1 ? uint8_t(utf8[0]) : (uint8_t(utf8[0]) & 0x1F) << 6 | (uint8_t(utf8[1]) & 0x3F);
      reverse[cp] = int16_t(b);
    }
    return reverse;
  }();
  return table;
}

}  // namespace

std::string_view byte_to_unicode(uint8_t byte) { return alphabet()[byte]; }

std::string bytes_to_unicode(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const char c : bytes) out += alphabet()[uint8_t(c)];
  return out;
}

std::optional<uint8_t> unicode_to_byte(std::string_view symbol) {
  // Every character of the alphabet is one byte of UTF-8 or a well-formed two.
  uint32_t cp = 0;
  if (symbol.size() == 1 && uint8_t(symbol[0]) < 0x80) {
    cp = uint8_t(symbol[0]);
  } else if (symbol.size() == 2 && (uint8_t(symbol[0]) & 0xE0) == 0xC0 && (uint8_t(symbol[1]) & 0xC0) == 0x80 &&
             uint8_t(symbol[0]) >= 0xC2) {
    cp = (uint8_t(symbol[0]) & 0x1F) << 6 | (uint8_t(symbol[1]) & 0x3F);
  } else {
    return std::nullopt;
  }
  if (cp >= kAlphabetEnd || reverse_alphabet()[cp] < 0) return std::nullopt;
  return uint8_t(reverse_alphabet()[cp]);
}

}  // namespace rs::tokenizer
