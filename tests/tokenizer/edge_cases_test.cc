// Edge cases against llama.cpp: tests/data/tokenizer_edge_cases.json, written
// by tests/tokenizer/make_edge_cases.mjs from llama.cpp's common_tokenize
// (add_special = false), checked id for id through
// Tokenizer::encode(text, false, parse_special) on the vocabularies under
// ../shared: the empty string, whitespace runs, leading spaces, newlines and
// tabs, digits and long numbers, punctuation, CJK, emoji, combining characters,
// special-token strings in user text (parsed and not), 1 MiB texts, and
// invalid UTF-8 (which node cannot hand to llama.cpp: see the script).
#include <gtest/gtest.h>
#include <simdjson.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/tokenizer/tokenizer.h"
#include "core/tokenizer/utf8.h"
#include "tests/tokenizer/llama_cpp_vectors.h"

namespace rs::tokenizer {
namespace {

using vectors::shared_vocab;

const char* const kVocabularies[] = {
    "tokenizers/llama2-vocab.gguf",
    "tokenizers/llama3.2-vocab.gguf",
    "tokenizers/smollm2-vocab.gguf",
    "tokenizers/ggml-vocab/ggml-vocab-gpt-2.gguf",
    "tokenizers/ggml-vocab/ggml-vocab-phi-3.gguf",
    "models/stories260K.gguf",
};

struct Case {
  std::string text;
  bool parse_special = false;
  std::vector<TokenId> ids;
};

struct MegabyteCase {
  bool parse_special = false;
  size_t count = 0;
  std::string ids_fnv1a64;
};

struct InvalidInput {
  std::string bytes;           // not UTF-8
  std::string llama_cpp_text;  // what llama.cpp reads them as before a "gpt2" vocabulary's regexes
};

struct Reference {
  std::map<std::string, std::vector<Case>> cases;  // by vocabulary
  std::map<std::string, std::vector<MegabyteCase>> megabyte_cases;
  std::vector<InvalidInput> invalid;
  uint32_t megabyte_seed = 0;
  size_t megabyte_target = 0;
  std::vector<std::string> megabyte_fragments;
  size_t megabyte_bytes = 0;
  std::string megabyte_text_fnv1a64;
};

std::string from_hex(std::string_view hex) {
  std::string bytes;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) bytes += char(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16));
  return bytes;
}

const Reference& reference() {
  static const Reference loaded = [] {
    Reference r;
    simdjson::dom::parser parser;
    const simdjson::dom::element root = parser.load(RINGSERVE_SOURCE_DIR "/tests/data/tokenizer_edge_cases.json");
    for (const simdjson::dom::element c : root["cases"].get_array()) {
      Case one{std::string(std::string_view(c["text"])), bool(c["parse_special"]), {}};
      for (const simdjson::dom::element id : c["ids"].get_array()) one.ids.push_back(TokenId(int64_t(id)));
      r.cases[std::string(std::string_view(c["vocab"]))].push_back(std::move(one));
    }
    for (const simdjson::dom::element c : root["megabyte_cases"].get_array()) {
      r.megabyte_cases[std::string(std::string_view(c["vocab"]))].push_back(
          {bool(c["parse_special"]), size_t(uint64_t(c["count"])), std::string(std::string_view(c["ids_fnv1a64"]))});
    }
    for (const simdjson::dom::element c : root["invalid_utf8"].get_array()) {
      r.invalid.push_back({from_hex(std::string_view(c["hex"])), std::string(std::string_view(c["llama_cpp_text"]))});
    }
    const simdjson::dom::element megabyte = root["megabyte"];
    r.megabyte_seed = uint32_t(uint64_t(megabyte["seed"]));
    r.megabyte_target = size_t(uint64_t(megabyte["target_bytes"]));
    for (const simdjson::dom::element f : megabyte["fragments"].get_array()) {
      r.megabyte_fragments.emplace_back(std::string_view(f));
    }
    r.megabyte_bytes = size_t(uint64_t(megabyte["bytes"]));
    r.megabyte_text_fnv1a64 = std::string(std::string_view(megabyte["text_fnv1a64"]));
    return r;
  }();
  return loaded;
}

// The script's 1 MiB text: fragments picked by a xorshift32 stream until the target size (bytes) is reached.
std::string megabyte_text(const Reference& r) {
  uint32_t state = r.megabyte_seed;
  std::string text;
  text.reserve(r.megabyte_target + 64);
  while (text.size() < r.megabyte_target) {
    state ^= state << 13;
    state ^= state >> 17;
    state ^= state << 5;
    text += r.megabyte_fragments[state % r.megabyte_fragments.size()];
  }
  return text;
}

// FNV-1a 64 as 16 hex digits.
std::string fnv1a64(const void* data, size_t size) {
  uint64_t hash = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < size; ++i) {
    hash ^= static_cast<const uint8_t*>(data)[i];
    hash *= 0x100000001b3ull;
  }
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(hash));
  return hex;
}

// Of the ids, each as 4 little-endian bytes, as the script hashes them.
std::string ids_fnv1a64(const std::vector<TokenId>& ids) {
  std::vector<uint8_t> bytes;
  bytes.reserve(ids.size() * 4);
  for (const TokenId id : ids) {
    for (int shift = 0; shift < 32; shift += 8) bytes.push_back(uint8_t(uint32_t(id) >> shift));
  }
  return fnv1a64(bytes.data(), bytes.size());
}

// The file alone: it covers what it should, and the 1 MiB recipe rebuilds here byte for byte.
TEST(EdgeCases, ReferenceCoversEveryVocabulary) {
  const Reference& r = reference();
  for (const char* vocab : kVocabularies) {
    ASSERT_TRUE(r.cases.contains(vocab)) << vocab;
    const std::vector<Case>& cases = r.cases.at(vocab);
    EXPECT_GT(cases.size(), 200u) << vocab;
    size_t parsed = 0, empty_text = 0;
    for (const Case& c : cases) {
      parsed += c.parse_special;
      empty_text += c.text.empty();
    }
    EXPECT_GT(parsed, 20u) << vocab;
    EXPECT_EQ(empty_text, 1u) << vocab;
    ASSERT_TRUE(r.megabyte_cases.contains(vocab)) << vocab;
    EXPECT_EQ(r.megabyte_cases.at(vocab).size(), 2u) << vocab;
  }
  EXPECT_FALSE(r.invalid.empty());
  for (const InvalidInput& input : r.invalid) {
    EXPECT_FALSE(is_valid_utf8(input.bytes)) << testing::PrintToString(input.bytes);
    EXPECT_TRUE(is_valid_utf8(input.llama_cpp_text));
  }
  const std::string text = megabyte_text(r);
  EXPECT_GE(text.size(), size_t{1} << 20);
  EXPECT_EQ(text.size(), r.megabyte_bytes);
  EXPECT_EQ(fnv1a64(text.data(), text.size()), r.megabyte_text_fnv1a64);
}

class EdgeCaseVocab : public testing::TestWithParam<const char*> {
 protected:
  // Skips (fails under CI) when ../shared is absent.
  std::optional<Tokenizer> load() const {
    std::optional<Vocab> vocab = shared_vocab(GetParam());
    if (!vocab) return std::nullopt;
    return Tokenizer(std::move(*vocab));
  }
  bool byte_level(const Tokenizer& t) const { return t.vocab().model == "gpt2"; }
};

TEST_P(EdgeCaseVocab, MatchesLlamaCppIdForId) {
  const std::optional<Tokenizer> t = load();
  if (!t) GTEST_SKIP() << GetParam() << " is not under ../shared";
  const std::vector<Case>& cases = reference().cases.at(GetParam());
  size_t matching = 0;
  for (const Case& c : cases) {
    const std::vector<TokenId> ids = t->encode(c.text, false, c.parse_special);
    EXPECT_EQ(ids, c.ids) << GetParam() << ", parse_special " << c.parse_special << ": "
                          << testing::PrintToString(c.text);
    matching += ids == c.ids;
  }
  RecordProperty("matching", std::to_string(matching) + "/" + std::to_string(cases.size()));
  std::printf("%s: %zu/%zu edge cases match llama.cpp\n", GetParam(), matching, cases.size());
}

TEST_P(EdgeCaseVocab, MegabyteMatchesLlamaCpp) {
  const std::optional<Tokenizer> t = load();
  if (!t) GTEST_SKIP() << GetParam() << " is not under ../shared";
  const std::string text = megabyte_text(reference());
  for (const MegabyteCase& c : reference().megabyte_cases.at(GetParam())) {
    const auto start = std::chrono::steady_clock::now();
    const std::vector<TokenId> ids = t->encode(text, false, c.parse_special);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("%s, parse_special %d: %zu bytes, %zu tokens in %.3f s\n", GetParam(), int(c.parse_special),
                text.size(), ids.size(), seconds);
    EXPECT_EQ(ids.size(), c.count) << "parse_special " << c.parse_special;
    EXPECT_EQ(ids_fnv1a64(ids), c.ids_fnv1a64) << "parse_special " << c.parse_special;
  }
}

// Invalid UTF-8 never crashes and follows a documented rule:
// - byte-level BPE ("gpt2") tokenizes the text llama.cpp reads the bytes as
//   (one U+FFFD per byte that does not start a sequence it can decode), so the
//   ids are llama.cpp's: the reference file holds that text as a case of its own;
// - SentencePiece keeps every byte (byte tokens), so decoding gives the bytes
//   back, as decode shows them: U+FFFD per maximal ill-formed subpart (utf8.h);
//   a space that an invalid lead byte swallows into its symbol comes back as
//   the bytes of its "▁", as in llama.cpp.
std::string marks_as_spaces(std::string text) {
  for (size_t at = text.find("\u2581"); at != std::string::npos; at = text.find("\u2581", at)) {
    text.replace(at, 3, " ");
  }
  return text;
}

TEST_P(EdgeCaseVocab, InvalidUtf8FollowsTheDocumentedRule) {
  const std::optional<Tokenizer> t = load();
  if (!t) GTEST_SKIP() << GetParam() << " is not under ../shared";
  std::map<std::string, std::vector<TokenId>> llama_cpp_ids;  // of the unparsed cases
  for (const Case& c : reference().cases.at(GetParam())) {
    if (!c.parse_special) llama_cpp_ids[c.text] = c.ids;
  }
  for (const InvalidInput& input : reference().invalid) {
    const std::string shown = testing::PrintToString(input.bytes);
    for (const bool parse_special : {false, true}) {
      const std::vector<TokenId> ids = t->encode(input.bytes, false, parse_special);
      EXPECT_TRUE(is_valid_utf8(t->decode(ids))) << shown;
      if (byte_level(*t)) {
        EXPECT_EQ(ids, t->encode(input.llama_cpp_text, false, parse_special)) << shown;
      }
    }
    const std::vector<TokenId> ids = t->encode(input.bytes, false, false);
    if (byte_level(*t)) {
      ASSERT_TRUE(llama_cpp_ids.contains(input.llama_cpp_text)) << shown;
      EXPECT_EQ(ids, llama_cpp_ids.at(input.llama_cpp_text)) << shown;
      EXPECT_EQ(t->decode(ids), input.llama_cpp_text) << shown;
    } else {
      std::string pieces;
      for (const TokenId id : ids) pieces += t->piece(id);
      // Every byte kept, after SentencePiece's space prefix.
      EXPECT_EQ(marks_as_spaces(pieces), " " + input.bytes) << shown;
      EXPECT_EQ(marks_as_spaces(t->decode(ids)), replace_invalid_utf8(input.bytes)) << shown;
    }
  }
}

// Where llama.cpp has no usable answer, ours is documented: byte-level BPE
// reads a surrogate (which llama.cpp keeps, tokenizing its three bytes) and a
// code point past U+10FFFF (on which llama.cpp throws "invalid codepoint")
// as one U+FFFD each; SentencePiece keeps the bytes.
TEST_P(EdgeCaseVocab, SurrogatesAndCodePointsPastUnicodeDoNotCrash) {
  const std::optional<Tokenizer> t = load();
  if (!t) GTEST_SKIP() << GetParam() << " is not under ../shared";
  const std::string fffd = "\xEF\xBF\xBD";
  const std::vector<std::pair<std::string, std::string>> inputs = {
      {"\xED\xA0\x80", fffd},
      {"a\xED\xBF\xBF" "b", "a" + fffd + "b"},
      {"\xF4\x90\x80\x80", fffd},
      {"x \xF7\xBF\xBF\xBF y", "x " + fffd + " y"},
      {"\xED\xA0\xBD\xED\xB8\x80", fffd + fffd},  // CESU-8 for U+1F600
  };
  for (const auto& [bytes, as_read] : inputs) {
    const std::vector<TokenId> ids = t->encode(bytes, false, true);
    if (byte_level(*t)) {
      EXPECT_EQ(ids, t->encode(as_read, false, true)) << testing::PrintToString(bytes);
    } else {
      std::string pieces;
      for (const TokenId id : ids) pieces += t->piece(id);
      EXPECT_EQ(pieces, " " + bytes);
    }
    EXPECT_TRUE(is_valid_utf8(t->decode(ids)));
  }
}

INSTANTIATE_TEST_SUITE_P(Vocabularies, EdgeCaseVocab, testing::ValuesIn(kVocabularies),
                         [](const testing::TestParamInfo<const char*>& info) {
                           std::string name = info.param;
                           name = name.substr(name.rfind('/') + 1);
                           name = name.substr(0, name.find(".gguf"));
                           for (char& c : name) c = std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
                           return name;
                         });

bool contains(const std::vector<TokenId>& ids, TokenId id) { return std::find(ids.begin(), ids.end(), id) != ids.end(); }

// llama.cpp retypes some tokens by their text whatever the vocabulary says
// (Phi-3's user-defined "</s>" is the case under ../shared, in the reference).
TEST(EdgeCases, SpecialTokensAreTypedAsLlamaCppTypesThem) {
  const auto make = [](const std::vector<std::pair<std::string, TokenType>>& tokens) {
    Vocab vocab;
    vocab.model = "gpt2";
    vocab.pre = "gpt-2";
    for (const auto& [text, type] : tokens) {
      vocab.ids[text] = TokenId(vocab.tokens.size());
      vocab.tokens.push_back(text);
      vocab.types.push_back(type);
    }
    return Tokenizer(std::move(vocab));
  };
  // 0 "a", 1 "</s>" user-defined, 2 "<|channel|>" control, 3 "<eos>" normal, 4 "<|end|>" control.
  const Tokenizer t = make({{"a", TokenType::normal}, {"</s>", TokenType::user_defined},
                            {"<|channel|>", TokenType::control}, {"<eos>", TokenType::normal},
                            {"<|end|>", TokenType::control}});
  const std::string text = "a</s>a<|channel|>a<eos>a<|end|>";
  const std::vector<TokenId> plain = t.encode(text, false, false);
  const std::vector<TokenId> parsed = t.encode(text, false, true);
  // An end-of-generation text is a control token: cut out only with parse_special.
  EXPECT_FALSE(contains(plain, 1));
  EXPECT_TRUE(contains(parsed, 1));
  EXPECT_FALSE(contains(plain, 3));
  EXPECT_TRUE(contains(parsed, 3));
  // gpt-oss's channel markers are always cut out.
  EXPECT_TRUE(contains(plain, 2));
  EXPECT_FALSE(contains(plain, 4));
  EXPECT_TRUE(contains(parsed, 4));

  // With "<|return|>" and "<|call|>" (o200k_harmony), "<|end|>" is user-defined: always cut out.
  const Tokenizer harmony = make({{"a", TokenType::normal}, {"<|end|>", TokenType::control},
                                  {"<|return|>", TokenType::control}, {"<|call|>", TokenType::control}});
  EXPECT_TRUE(contains(harmony.encode("a<|end|>a", false, false), 1));
  // With "<|tool_response>" (Gemma 4), "</s>" is plain text even with parse_special.
  const Tokenizer gemma = make({{"a", TokenType::normal}, {"</s>", TokenType::control},
                                {"<|tool_response>", TokenType::control}});
  EXPECT_FALSE(contains(gemma.encode("a</s>a", false, true), 1));
}

// Ids from llama.cpp's llama_tokenize on these bytes: its SentencePiece splits
// the text into symbols by the length a lead byte announces (unicode_len_utf8)
// without checking the bytes that follow, so an invalid lead byte swallows up
// to 3 following bytes ("a", "▁") into one symbol that becomes byte tokens.
TEST(EdgeCases, SentencePieceInvalidLeadBytesAsLlamaCpp) {
  const std::optional<Vocab> vocab = shared_vocab("tokenizers/llama2-vocab.gguf");
  if (!vocab) GTEST_SKIP() << "llama2-vocab.gguf is not under ../shared";
  const Tokenizer t(std::move(*vocab));
  EXPECT_EQ(t.encode("\xC3" "ab ", false), (std::vector<TokenId>{29871, 198, 100, 29890, 29871}));
  EXPECT_EQ(t.encode("a\xFF b\n", false), (std::vector<TokenId>{263, 258, 229, 153, 132, 29890, 13}));
  EXPECT_EQ(t.encode("\xFF\xC2\xA0\xC0\xAF", false), (std::vector<TokenId>{29871, 258, 197, 163, 195, 178}));
}

}  // namespace
}  // namespace rs::tokenizer
