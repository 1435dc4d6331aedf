#include "core/tokenizer/utf8.h"

#include <cstdint>

namespace rs::tokenizer {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// What a lead byte allows: the sequence length and the range of the byte after
// it (Unicode Table 3-7, "Well-Formed UTF-8 Byte Sequences"); length 0 for a
// byte that cannot start a sequence.
struct Lead {
  uint8_t length;
  uint8_t second_min, second_max;
};

constexpr Lead lead_of(uint8_t byte) {
  if (byte < 0x80) return {1, 0, 0};
  if (byte < 0xC2) return {0, 0, 0};  // continuation bytes, and C0/C1 (always overlong)
  if (byte < 0xE0) return {2, 0x80, 0xBF};
  if (byte == 0xE0) return {3, 0xA0, 0xBF};  // no overlongs
  if (byte == 0xED) return {3, 0x80, 0x9F};  // no surrogates
  if (byte < 0xF0) return {3, 0x80, 0xBF};
  if (byte == 0xF0) return {4, 0x90, 0xBF};  // no overlongs
  if (byte < 0xF4) return {4, 0x80, 0xBF};
  if (byte == 0xF4) return {4, 0x80, 0x8F};  // nothing past U+10FFFF
  return {0, 0, 0};
}

enum class Scan { complete, ill_formed, truncated };

// The sequence starting at bytes[at]: a complete character (its `length`
// bytes), an ill-formed maximal subpart (`length` bytes, at least 1), or a
// truncated but so far well-formed prefix reaching the end of `bytes`.
Scan scan(std::string_view bytes, size_t at, size_t& length) {
  const Lead lead = lead_of(uint8_t(bytes[at]));
  if (lead.length == 0) {
    length = 1;
    return Scan::ill_formed;
  }
  for (size_t i = 1; i < lead.length; ++i) {
    if (at + i == bytes.size()) {
      length = i;
      return Scan::truncated;
    }
    const auto byte = uint8_t(bytes[at + i]);
    const bool fits = i == 1 ? byte >= lead.second_min && byte <= lead.second_max : (byte & 0xC0) == 0x80;
    if (!fits) {
      length = i;  // the maximal subpart ends before this byte, which starts the next scan
      return Scan::ill_formed;
    }
  }
  length = lead.length;
  return Scan::complete;
}

}  // namespace

size_t append_replacing_invalid_utf8(std::string_view bytes, bool at_end, std::string& out) {
  size_t at = 0;
  while (at < bytes.size()) {
    // ASCII runs: the common case, copied without a per-byte scan call.
    size_t ascii = at;
    while (ascii < bytes.size() && uint8_t(bytes[ascii]) < 0x80) ++ascii;
    out.append(bytes.substr(at, ascii - at));
    at = ascii;
    if (at == bytes.size()) break;

    size_t length = 0;
    switch (scan(bytes, at, length)) {
      case Scan::complete:
        out.append(bytes.substr(at, length));
        break;
      case Scan::truncated:
        if (!at_end) return at;  // more bytes may complete it
        out.append(kReplacement);
        break;
      case Scan::ill_formed:
        out.append(kReplacement);
        break;
    }
    at += length;
  }
  return at;
}

std::string replace_invalid_utf8(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  append_replacing_invalid_utf8(bytes, true, out);
  return out;
}

bool is_valid_utf8(std::string_view bytes) {
  for (size_t at = 0; at < bytes.size();) {
    if (uint8_t(bytes[at]) < 0x80) {
      ++at;
      continue;
    }
    size_t length = 0;
    if (scan(bytes, at, length) != Scan::complete) return false;
    at += length;
  }
  return true;
}

}  // namespace rs::tokenizer
