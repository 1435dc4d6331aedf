#include "core/tokenizer/byte_unicode.h"

#include <array>
#include <unordered_map>

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

const std::unordered_map<std::string_view, uint8_t>& reverse_alphabet() {
  static const std::unordered_map<std::string_view, uint8_t> table = [] {
    std::unordered_map<std::string_view, uint8_t> reverse;
    for (size_t b = 0; b < 256; ++b) reverse.emplace(alphabet()[b], uint8_t(b));
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
  const auto it = reverse_alphabet().find(symbol);
  if (it == reverse_alphabet().end()) return std::nullopt;
  return it->second;
}

}  // namespace rs::tokenizer
