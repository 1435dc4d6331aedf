// BpeTokenizer against llama.cpp: its test-tokenizer-0 vectors for every
// "gpt2" vocabulary under ../shared, round trips through piece(), and inputs
// that must not crash it.
#include "core/tokenizer/bpe_tokenizer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "tests/tokenizer/llama_cpp_vectors.h"
#include "core/tokenizer/tokenizer.h"
#include "core/model/model_error.h"
#include "core/tokenizer/byte_unicode.h"
#include "core/tokenizer/pre_tokenizer.h"

namespace rs::tokenizer {
namespace {

using namespace vectors;

// The vocabulary of a GGUF under ../shared/tokenizers.
std::optional<Vocab> bpe_shared_vocab(const std::string& name) { return shared_vocab("tokenizers/" + name); }

struct VectorCase {
  std::string name;     // the pre type the vectors exercise
  std::string vocab;    // under ../shared/tokenizers
  std::string vectors;  // .inp/.out prefix under ../shared/tokenizers
};

std::ostream& operator<<(std::ostream& out, const VectorCase& c) { return out << c.name; }

class BpeVectors : public testing::TestWithParam<VectorCase> {};

std::string pieces_of(const BpeTokenizer& tokenizer, const std::vector<TokenId>& ids) {
  std::string text;
  for (const TokenId id : ids) text += tokenizer.piece(id);
  return text;
}

// Where `a` and `b` first differ (npos when equal): what a failure on 1 MiB strings can usefully print.
size_t first_difference(std::string_view a, std::string_view b) {
  const auto [at_a, at_b] = std::mismatch(a.begin(), a.end(), b.begin(), b.end());
  return at_a == a.end() && at_b == b.end() ? std::string::npos : size_t(at_a - a.begin());
}

TEST_P(BpeVectors, MatchLlamaCppIdForId) {
  const VectorCase& c = GetParam();
  const std::optional<Vocab> vocab = bpe_shared_vocab(c.vocab);
  if (!vocab) GTEST_SKIP() << c.vocab << " is not under ../shared/tokenizers";
  const std::vector<std::string> inputs = vector_inputs(read_file(kShared + "tokenizers/" + c.vectors + ".inp"));
  const std::vector<std::vector<TokenId>> outputs = vector_outputs(read_file(kShared + "tokenizers/" + c.vectors + ".out"));
  ASSERT_FALSE(inputs.empty());
  ASSERT_EQ(inputs.size(), outputs.size());

  const Tokenizer tokenizer(std::move(*vocab));  // as llama.cpp's test: no BOS, no special-token parsing
  size_t matching = 0;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const std::vector<TokenId> ids = tokenizer.encode(inputs[i], false);
    EXPECT_EQ(ids, outputs[i]) << c.name << " string " << i << ": \"" << inputs[i] << "\"";
    matching += ids == outputs[i];
  }
  RecordProperty("matching", std::to_string(matching) + "/" + std::to_string(inputs.size()));
}

INSTANTIATE_TEST_SUITE_P(
    Bpe, BpeVectors,
    testing::Values(VectorCase{"gpt2", "ggml-vocab/ggml-vocab-gpt-2.gguf", "ggml-vocab/ggml-vocab-gpt-2.gguf"},
                    VectorCase{"llama_bpe", "llama3.2-vocab.gguf", "ggml-vocab/ggml-vocab-llama-bpe.gguf"},
                    VectorCase{"starcoder", "ggml-vocab/ggml-vocab-starcoder.gguf", "ggml-vocab/ggml-vocab-starcoder.gguf"},
                    VectorCase{"refact", "ggml-vocab/ggml-vocab-refact.gguf", "ggml-vocab/ggml-vocab-refact.gguf"},
                    VectorCase{"falcon", "ggml-vocab/ggml-vocab-falcon.gguf", "ggml-vocab/ggml-vocab-falcon.gguf"},
                    VectorCase{"mpt", "ggml-vocab/ggml-vocab-mpt.gguf", "ggml-vocab/ggml-vocab-mpt.gguf"},
                    VectorCase{"deepseek_llm", "ggml-vocab/ggml-vocab-deepseek-llm.gguf",
                               "ggml-vocab/ggml-vocab-deepseek-llm.gguf"},
                    VectorCase{"deepseek_coder", "ggml-vocab/ggml-vocab-deepseek-coder.gguf",
                               "ggml-vocab/ggml-vocab-deepseek-coder.gguf"}),
    [](const testing::TestParamInfo<VectorCase>& info) { return info.param.name; });

TEST(BpeTokenizer, SmolLmRoundTripsThroughPiece) {
  const std::optional<Vocab> vocab = bpe_shared_vocab("smollm2-vocab.gguf");
  if (!vocab) GTEST_SKIP() << "smollm2-vocab.gguf is not under ../shared/tokenizers";
  ASSERT_EQ(vocab->pre, "smollm");
  const BpeTokenizer tokenizer(*vocab);
  for (const std::string text : {"Hello world", "12345"}) EXPECT_EQ(pieces_of(tokenizer, tokenizer.encode(text)), text);
  // smollm splits digits one by one before the GPT-2 pattern.
  EXPECT_EQ(tokenizer.encode("12345").size(), 5u);
}

TEST(BpeTokenizer, ControlTokensHaveNoPiece) {
  const std::optional<Vocab> vocab = bpe_shared_vocab("llama3.2-vocab.gguf");
  if (!vocab) GTEST_SKIP() << "llama3.2-vocab.gguf is not under ../shared/tokenizers";
  const BpeTokenizer tokenizer(*vocab);
  ASSERT_GE(vocab->bos, 0);
  EXPECT_EQ(tokenizer.piece(vocab->bos), "");
  EXPECT_EQ(tokenizer.piece(-1), "");
  EXPECT_EQ(tokenizer.piece(TokenId(vocab->size())), "");
  EXPECT_EQ(tokenizer.piece(vocab->id_of("Ġworld")), " world");
}

TEST(BpeTokenizer, OddAndHugeInputsRoundTrip) {
  const std::optional<Vocab> vocab = bpe_shared_vocab("llama3.2-vocab.gguf");
  if (!vocab) GTEST_SKIP() << "llama3.2-vocab.gguf is not under ../shared/tokenizers";
  const BpeTokenizer tokenizer(*vocab);
  EXPECT_TRUE(tokenizer.encode("").empty());

  // Invalid UTF-8 reads as U+FFFD, one per bad byte, as in llama.cpp; a
  // surrogate, which llama.cpp keeps, becomes one U+FFFD too.
  const std::vector<TokenId> invalid = tokenizer.encode("a\xff\xfe b\xc3 \xe2\x82 \xed\xa0\x80");
  EXPECT_EQ(pieces_of(tokenizer, invalid),
            "a\xef\xbf\xbd\xef\xbf\xbd b\xef\xbf\xbd \xef\xbf\xbd\xef\xbf\xbd \xef\xbf\xbd");

  // 1 MiB inputs come back byte for byte: byte-level BPE has a token for every byte of valid UTF-8.
  std::string megabyte;
  for (size_t i = 0; megabyte.size() < (1u << 20); ++i) megabyte += "word " + std::to_string(i) + " ünïcödé\n\t  ";
  const Tokenizer full(*vocab);
  for (const std::string& text : {megabyte, std::string(1u << 20, 'a'), std::string(1u << 20, ' ')}) {
    const std::vector<TokenId> ids = tokenizer.encode(text);
    EXPECT_EQ(first_difference(pieces_of(tokenizer, ids), text), std::string::npos) << text.substr(0, 16);
    EXPECT_EQ(first_difference(full.decode(full.encode(text, false)), text), std::string::npos) << text.substr(0, 16);
    EXPECT_LT(ids.size(), text.size() / 2) << text.substr(0, 16);  // merged, not one token per byte
  }
}

std::vector<std::string> split(std::string_view pre, std::string_view text) {
  const std::vector<std::string_view> pieces = PreTokenizer(pre).split(text);
  return {pieces.begin(), pieces.end()};
}

// Pre types without llama.cpp vectors here (qwen2's has no vocabulary under
// ../shared): their splits, worked out from llama.cpp's regexes.
TEST(BpePreTokenizer, SplitsAsLlamaCppRegexes) {
  using Pieces = std::vector<std::string>;
  EXPECT_EQ(split("qwen2", "abc 12345"), (Pieces{"abc", " ", "1", "2", "3", "4", "5"}));
  EXPECT_EQ(split("llama-bpe", "12345"), (Pieces{"123", "45"}));
  EXPECT_EQ(split("llama-bpe", "Hello  world\n\n"), (Pieces{"Hello", " ", " world", "\n\n"}));
  EXPECT_EQ(split("smollm", "x 12"), (Pieces{"x", " ", "1", "2"}));
  EXPECT_EQ(split("gpt-2", "it's  ok"), (Pieces{"it", "'s", " ", " ok"}));
  EXPECT_TRUE(split("gpt-2", "").empty());
  // llama.cpp's std::wregex never sees non-ASCII whitespace (U+3000 here) in
  // deepseek's character classes.
  EXPECT_EQ(split("deepseek-coder", "\u2192\u3000\u2192"), (Pieces{"\u2192", "\u3000", "\u2192"}));
  EXPECT_EQ(split("deepseek-llm", "!\u3000\u3001"), (Pieces{"!", "\u3000", "\u3001"}));
  for (const std::string_view pre : {"", "default", "gpt-2", "mpt", "llama-bpe", "smollm", "starcoder", "refact",
                                     "qwen2", "falcon", "deepseek-llm", "deepseek-coder"}) {
    EXPECT_NO_THROW(PreTokenizer{pre}) << pre;
  }
}

TEST(BpeByteAlphabet, UnicodeToByteInvertsByteToUnicodeOnly) {
  for (int byte = 0; byte < 256; ++byte) EXPECT_EQ(unicode_to_byte(byte_to_unicode(uint8_t(byte))), uint8_t(byte));
  // Every other string of one or two bytes stands for no byte.
  for (int length = 1; length <= 2; ++length) {
    for (int bits = 0; bits < (1 << (8 * length)); ++bits) {
      std::string text(size_t(length), '\0');
      for (int i = 0; i < length; ++i) text[size_t(i)] = char(bits >> (8 * i));
      if (const auto byte = unicode_to_byte(text)) {
        EXPECT_EQ(byte_to_unicode(*byte), text);
      }
    }
  }
  EXPECT_FALSE(unicode_to_byte("\xC4\xA0\x20"));  // "Ġ" and a byte more
  EXPECT_FALSE(unicode_to_byte(""));
}

// encode() skips the copy to_valid_utf8 makes when needs_utf8_repair says it
// would change nothing: the two must agree on any bytes.
TEST(BpePreTokenizer, NeedsRepairExactlyWhenRepairChangesText) {
  std::mt19937 random(20261122);
  // Bytes that make well-formed, overlong, surrogate, out-of-range and cut-short sequences.
  const std::vector<uint8_t> alphabet = {'a', ' ', 0x7F, 0x80, 0x8F, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF,
                                         0xE0, 0xED, 0xEF, 0xF0, 0xF4, 0xF5, 0xF7, 0xF8, 0xFF};
  for (int round = 0; round < 200000; ++round) {
    std::string text;
    const size_t size = random() % 12;
    for (size_t i = 0; i < size; ++i) text += char(alphabet[random() % alphabet.size()]);
    if (random() % 2) text = std::string(random() % 17, 'x') + text;  // past the 8-byte ASCII steps
    EXPECT_EQ(needs_utf8_repair(text), to_valid_utf8(text) != text) << testing::PrintToString(text);
  }
  EXPECT_FALSE(needs_utf8_repair("plain ASCII, then \u00e9\u4e2d\U0001F600 and more ASCII"));
  EXPECT_TRUE(needs_utf8_repair("overlong \xC0\xAF"));
}

TEST(BpeTokenizer, RejectsUnknownPreTokenizer) {
  Vocab vocab;
  vocab.model = "gpt2";
  vocab.pre = "no-such-pre";
  EXPECT_THROW(BpeTokenizer{vocab}, model::ModelError);
}

}  // namespace
}  // namespace rs::tokenizer
