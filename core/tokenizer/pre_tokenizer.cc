#include "core/tokenizer/pre_tokenizer.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <new>

#include <fmt/format.h>

#include "core/model/model_error.h"

namespace rs::tokenizer {
namespace {

// llama.cpp's regex_exprs, verbatim (llama-vocab.cpp, llm_tokenizer_bpe). It
// runs kGpt2 and kLlama3 through hand-written equivalents (unicode.cpp); a
// random-string comparison with those found no split where PCRE2 differs.
constexpr std::string_view kGpt2 = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)";
constexpr std::string_view kLlama3 =
    "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| "
    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
constexpr std::string_view kQwen2 =
    "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| "
    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
// Escaped: Unicode normalization in editors rewrites several of these letters.
constexpr std::string_view kDeepseekLlmLetters =
    "\\s?[A-Za-z\\x{B5}\\x{C0}-\\x{D6}\\x{D8}-\\x{F6}\\x{F8}-\\x{1BA}\\x{1BC}-\\x{1BF}\\x{1C4}-"
    "\\x{293}\\x{295}-\\x{2AF}\\x{370}-\\x{373}\\x{376}\\x{377}\\x{37B}-\\x{37D}\\x{37F}\\x{386}"
    "\\x{388}-\\x{38A}\\x{38C}\\x{38E}-\\x{3A1}\\x{3A3}-\\x{3F5}\\x{3F7}-\\x{481}\\x{48A}-\\x{52F}"
    "\\x{531}-\\x{556}\\x{10A0}-\\x{10C5}\\x{13A0}-\\x{13F5}\\x{13F8}-\\x{13FD}\\x{1C90}-\\x{1CBA}"
    "\\x{1CBD}-\\x{1CBF}\\x{1D00}-\\x{1D2B}\\x{1D6B}-\\x{1D77}\\x{1D79}-\\x{1D9A}\\x{1E00}-\\x{1F15}"
    "\\x{1F18}-\\x{1F1D}\\x{1F20}-\\x{1F45}\\x{1F48}-\\x{1F4D}\\x{1F50}-\\x{1F57}\\x{1F59}\\x{1F5B}"
    "\\x{1F5D}\\x{1F5F}-\\x{1F7D}\\x{1F80}-\\x{1FB4}\\x{1FB6}-\\x{1FBC}\\x{1FBE}\\x{1FC2}-\\x{1FC4}"
    "\\x{1FC6}-\\x{1FCC}\\x{1FD0}-\\x{1FD3}\\x{1FD6}-\\x{1FDB}\\x{1FE0}-\\x{1FEC}\\x{1FF2}-\\x{1FF4}"
    "\\x{1FF6}-\\x{1FFC}\\x{2102}\\x{2107}\\x{210A}-\\x{2113}\\x{2115}\\x{2119}-\\x{211D}\\x{2124}"
    "\\x{2126}\\x{2128}\\x{212A}-\\x{212D}\\x{212F}-\\x{2134}\\x{2139}\\x{213C}-\\x{213F}\\x{2145}-"
    "\\x{2149}\\x{214E}\\x{2183}\\x{2184}\\x{2C00}-\\x{2C7B}\\x{2C7E}-\\x{2CE4}\\x{2CEB}-\\x{2CEE}"
    "\\x{2CF2}\\x{2CF3}\\x{A640}-\\x{A66D}\\x{A680}-\\x{A69B}\\x{A722}-\\x{A76F}\\x{A771}-\\x{A787}"
    "\\x{A78B}-\\x{A78E}\\x{AB70}-\\x{ABBF}\\x{FB00}-\\x{FB06}\\x{FB13}-\\x{FB17}\\x{FF21}-\\x{FF3A}"
    "\\x{FF41}-\\x{FF5A}\\x{10400}-\\x{1044F}\\x{104B0}-\\x{104D3}\\x{104D8}-\\x{104FB}\\x{10C80}-"
    "\\x{10CB2}\\x{10CC0}-\\x{10CF2}\\x{118A0}-\\x{118DF}\\x{1E900}-\\x{1E943}]+";
// llama.cpp runs regexes without \p{..} through std::wregex on text whose
// non-ASCII whitespace it has turned into U+000B, so these classes never
// match that whitespace: the ranges here leave it out (U+3000, U+1680,
// U+2000-U+200A, U+2028, U+2029, U+202F, U+205F).
constexpr std::string_view kDeepseekPunctuation =
    "\\s?[!-/:-~\\x{FF01}-\\x{FF0F}\\x{FF1A}-\\x{FF5E}\\x{2018}-\\x{201F}\\x{3001}-\\x{3002}]+";
constexpr std::string_view kCjkHangul =
    "[\\x{4E00}-\\x{9FA5}\\x{800}-\\x{167F}\\x{1681}-\\x{1FFF}\\x{200B}-\\x{2027}\\x{202A}-\\x{202E}"
    "\\x{2030}-\\x{205E}\\x{2060}-\\x{2FFF}\\x{3001}-\\x{4E00}\\x{AC00}-\\x{D7FF}]+";

struct PreType {
  std::initializer_list<std::string_view> names;
  std::initializer_list<std::string_view> regexes;
  bool ignore_merges = false;
};

// Pre names as llama-vocab.cpp maps them to LLAMA_VOCAB_PRE_TYPE_*; an absent
// pre is llama.cpp's "default".
const PreType kPreTypes[] = {
    {{"", "default"}, {"[\\p{P}\\$\\+<=>\\^~\\|]+", kGpt2, "\\p{N}+", "[0-9][0-9][0-9]"}},
    {{"gpt-2", "mpt", "olmo", "phi-2", "roberta-bpe"}, {kGpt2}},
    {{"llama3", "llama-v3", "llama-bpe"}, {kLlama3}, true},
    {{"smollm", "starcoder", "refact", "command-r", "codeshell", "exaone", "minerva-7b"}, {"\\p{N}", kGpt2}},
    {{"qwen2", "stablelm2", "deepseek-r1-qwen"}, {kQwen2}},
    {{"falcon"}, {"[\\p{P}\\$\\+<=>\\^~\\|`]+", kGpt2, "[0-9][0-9][0-9]"}},
    {{"deepseek-llm"}, {"[\r\n]", kDeepseekLlmLetters, kDeepseekPunctuation, "\\s+$", kCjkHangul, "\\p{N}+"}},
    {{"deepseek-coder"}, {"[\r\n]", "\\s?\\p{L}+", "\\s?\\p{P}+", kCjkHangul, "\\p{N}"}},
};

// llama.cpp's whitespace (unicode_vec_whitespace), which PCRE2's Unicode \s
// does not quite equal (it adds U+180E).
constexpr std::string_view kWhitespaceSet =
    "\\t-\\r \\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}";

// `regex` with \s and \S spelled as llama.cpp's whitespace set.
std::string with_llama_whitespace(std::string_view regex) {
  std::string out;
  bool in_class = false;
  for (size_t i = 0; i < regex.size(); ++i) {
    const char c = regex[i];
    if (c == '\\' && i + 1 < regex.size()) {
      const char escaped = regex[++i];
      if (escaped == 's') {
        out += in_class ? fmt::format("{}", kWhitespaceSet) : fmt::format("[{}]", kWhitespaceSet);
      } else if (escaped == 'S' && !in_class) {
        out += fmt::format("[^{}]", kWhitespaceSet);
      } else {
        out += c;
        out += escaped;
      }
      continue;
    }
    if (c == '[' && !in_class) in_class = true;
    else if (c == ']' && in_class) in_class = false;
    out += c;
  }
  return out;
}

}  // namespace

size_t llama_sequence_length(std::string_view s, size_t i, uint32_t& cp) {
  const auto byte = [&](size_t k) { return uint8_t(s[i + k]); };
  const auto continued = [&](size_t n) {
    if (i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k) {
      if ((byte(k) & 0xC0) != 0x80) return false;
    }
    return true;
  };
  const uint8_t lead = byte(0);
  if (lead < 0x80) { cp = lead; return 1; }
  if ((lead & 0xE0) == 0xC0 && continued(2)) { cp = (lead & 0x1F) << 6 | (byte(1) & 0x3F); return 2; }
  if ((lead & 0xF0) == 0xE0 && continued(3)) {
    cp = (lead & 0x0F) << 12 | (byte(1) & 0x3F) << 6 | (byte(2) & 0x3F);
    return 3;
  }
  if ((lead & 0xF8) == 0xF0 && continued(4)) {
    cp = (lead & 0x07) << 18 | (byte(1) & 0x3F) << 12 | (byte(2) & 0x3F) << 6 | (byte(3) & 0x3F);
    return 4;
  }
  return 0;
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += char(cp);
  } else if (cp < 0x800) {
    out += char(0xC0 | cp >> 6);
    out += char(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += char(0xE0 | cp >> 12);
    out += char(0x80 | (cp >> 6 & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  } else {
    out += char(0xF0 | cp >> 18);
    out += char(0x80 | (cp >> 12 & 0x3F));
    out += char(0x80 | (cp >> 6 & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  }
}

std::string to_valid_utf8(std::string_view text) {
  constexpr uint32_t kReplacement = 0xFFFD;
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    uint32_t cp = 0;
    const size_t n = llama_sequence_length(text, i, cp);
    // llama.cpp keeps surrogates and code points past U+10FFFF, which PCRE2
    // cannot take: they become U+FFFD too (same split, different bytes).
    const bool encodable = n > 0 && !(cp >= 0xD800 && cp <= 0xDFFF) && cp <= 0x10FFFF;
    append_utf8(out, encodable ? cp : kReplacement);
    i += n > 0 ? n : 1;
  }
  return out;
}

bool needs_utf8_repair(std::string_view text) {
  const size_t size = text.size();
  for (size_t i = 0; i < size;) {
    if (i + 8 <= size) {  // ASCII 8 bytes at a time
      uint64_t word;
      std::memcpy(&word, text.data() + i, 8);
      if ((word & 0x8080808080808080ull) == 0) {
        i += 8;
        continue;
      }
    }
    if (uint8_t(text[i]) < 0x80) {
      ++i;
      continue;
    }
    uint32_t cp = 0;
    const size_t n = llama_sequence_length(text, i, cp);
    if (n == 0 || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) return true;
    // An overlong form decodes to a code point that to_valid_utf8 writes shorter.
    const size_t shortest = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    if (n != shortest) return true;
    i += n;
  }
  return false;
}

struct PreTokenizer::Regex {
  Regex() = default;
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;
  ~Regex() { pcre2_code_free(code); }
  pcre2_code* code = nullptr;
  bool jit = false;  // compiled to machine code: pcre2_jit_match skips pcre2_match's checks
};

struct PreTokenizer::MatchData {
  MatchData() : data(pcre2_match_data_create(1, nullptr)) {
    if (data == nullptr) throw std::bad_alloc();
  }
  MatchData(const MatchData&) = delete;
  MatchData& operator=(const MatchData&) = delete;
  ~MatchData() { pcre2_match_data_free(data); }
  pcre2_match_data* data;
};

PreTokenizer::PreTokenizer(std::string_view pre) {
  const PreType* type = nullptr;
  for (const PreType& candidate : kPreTypes) {
    for (std::string_view name : candidate.names) {
      if (name == pre) type = &candidate;
    }
  }
  if (type == nullptr) throw model::ModelError(fmt::format("tokenizer.ggml.pre \"{}\" is not supported", pre));
  ignore_merges_ = type->ignore_merges;
  for (std::string_view source : type->regexes) {
    const std::string pattern = with_llama_whitespace(source);
    int error = 0;
    PCRE2_SIZE error_offset = 0;
    // DOLLAR_ENDONLY: like std::regex, "$" is the end of the piece only. No
    // UCP: \s is spelled out above and \p{..} needs only UTF.
    auto regex = std::make_unique<Regex>();
    regex->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                PCRE2_UTF | PCRE2_DOLLAR_ENDONLY, &error, &error_offset, nullptr);
    if (regex->code == nullptr) {
      PCRE2_UCHAR message[256];
      pcre2_get_error_message(error, message, sizeof message);
      throw model::ModelError(fmt::format("pre-tokenizer regex for \"{}\" at {}: {}", pre, error_offset,
                                          reinterpret_cast<const char*>(message)));
    }
    // Falls back to the interpreter where JIT is unavailable.
    regex->jit = pcre2_jit_compile(regex->code, PCRE2_JIT_COMPLETE) == 0;
    regexes_.push_back(std::move(regex));
  }
}

PreTokenizer::~PreTokenizer() = default;
PreTokenizer::PreTokenizer(PreTokenizer&&) noexcept = default;
PreTokenizer& PreTokenizer::operator=(PreTokenizer&&) noexcept = default;

std::vector<std::string_view> PreTokenizer::split(std::string_view text) const {
  std::vector<std::string_view> pieces;
  for_each_piece(text, [&](std::string_view piece) { pieces.push_back(piece); });
  return pieces;
}

void PreTokenizer::for_each_piece(std::string_view text, Callback callback, void* context) const {
  if (text.empty()) return;
  MatchData match;
  split_from(0, text, match, callback, context);
}

// Regex `level` splits `piece`; each of its pieces goes on to the next regex,
// and after the last one to the callback: depth first, so in text order.
void PreTokenizer::split_from(size_t level, std::string_view piece, MatchData& match, Callback callback,
                              void* context) const {
  if (level == regexes_.size()) {
    callback(context, piece);
    return;
  }
  const Regex& regex = *regexes_[level];
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(piece.data());
  const PCRE2_SIZE* span = pcre2_get_ovector_pointer(match.data);
  size_t done = 0;  // end of the last match: the text before a match is a piece too
  size_t from = 0;
  while (from < piece.size()) {
    const int rc = regex.jit ? pcre2_jit_match(regex.code, subject, piece.size(), from, 0, match.data, nullptr)
                             : pcre2_match(regex.code, subject, piece.size(), from, PCRE2_NO_UTF_CHECK, match.data,
                                           nullptr);
    if (rc < 0) break;  // no further match (or a resource limit: the rest stays one piece)
    const size_t begin = span[0], end = span[1];  // the next levels reuse the match data
    if (end == begin) {  // an empty match splits nothing: step over one character
      from = begin + 1;
      while (from < piece.size() && (uint8_t(piece[from]) & 0xC0) == 0x80) ++from;
      continue;
    }
    if (begin > done) split_from(level + 1, piece.substr(done, begin - done), match, callback, context);
    split_from(level + 1, piece.substr(begin, end - begin), match, callback, context);
    done = from = end;
  }
  if (done < piece.size()) split_from(level + 1, piece.substr(done), match, callback, context);
}

}  // namespace rs::tokenizer
