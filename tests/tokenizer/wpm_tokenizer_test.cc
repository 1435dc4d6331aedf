// WpmTokenizer against llama.cpp: its test-tokenizer-0 vectors for the bert-bge
// vocabulary under ../shared, [CLS]/[SEP], decoding; and each rule of
// llama.cpp's WordPiece on a hand-built vocabulary, which needs no ../shared.
#include "core/tokenizer/wpm_tokenizer.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/model/model_error.h"
#include "core/tokenizer/stream_decoder.h"
#include "core/tokenizer/tokenizer.h"
#include "tests/tokenizer/llama_cpp_vectors.h"

namespace rs::tokenizer {
namespace {

using namespace vectors;
using Ids = std::vector<TokenId>;

const std::string kBge = "tokenizers/ggml-vocab/ggml-vocab-bert-bge.gguf";

// A "bert" vocabulary of `tokens`; bracketed ones ("[CLS]") are control tokens.
Vocab word_piece_vocab(const std::vector<std::string>& tokens) {
  Vocab v;
  v.model = "bert";
  for (const std::string& token : tokens) {
    v.ids[token] = TokenId(v.tokens.size());
    v.tokens.push_back(token);
    v.types.push_back(token.starts_with('[') ? TokenType::control : TokenType::normal);
  }
  v.unk = v.id_of("[UNK]");
  v.cls = v.id_of("[CLS]");
  v.sep = v.id_of("[SEP]");
  return v;
}

const std::vector<std::string> kTinyTokens = {
    "[PAD]", "[UNK]", "[CLS]", "[SEP]", "▁un", "▁unaff", "aff", "able", "▁hello", "▁world", "▁,", "▁!",
    "▁中", "▁文", "▁cafe", "▁ecole", "▁ab", "▁a", "bcd", "▁Hello", "▁café", "▁/", "▁$", "▁%"};

class WpmTiny : public testing::Test {
 protected:
  WpmTiny() : vocab_(word_piece_vocab(kTinyTokens)), wpm_(vocab_) {}

  TokenId id(const std::string& token) const { return vocab_.id_of(token); }
  Ids ids(std::initializer_list<std::string> tokens) const {
    Ids out;
    for (const std::string& token : tokens) out.push_back(id(token));
    return out;
  }
  Ids encode(std::string_view text) const { return wpm_.encode(text); }

  Vocab vocab_;
  WpmTokenizer wpm_;
};

TEST_F(WpmTiny, LongestTokenFromTheLeft) {
  EXPECT_EQ(encode("unaffable"), ids({"▁unaff", "able"}));  // not ▁un aff able
  EXPECT_EQ(encode("hello world"), ids({"▁hello", "▁world"}));
  EXPECT_EQ(encode(""), Ids{});
  EXPECT_EQ(encode(" \t\n "), Ids{});
}

// Greedy, as BERT: "▁ab" leaves "cd", which nothing starts, though "▁a" "bcd" would do.
TEST_F(WpmTiny, AWordWithAnUnmatchedPositionIsUnknownAsAWhole) {
  EXPECT_EQ(encode("abcd"), ids({"[UNK]"}));
  EXPECT_EQ(encode("helloq world"), ids({"[UNK]", "▁world"}));  // not ▁hello [UNK]
  EXPECT_EQ(encode("abcd abcd"), ids({"[UNK]", "[UNK]"}));
}

TEST_F(WpmTiny, PunctuationAsciiSymbolsAndIdeographsAreWordsOfTheirOwn) {
  EXPECT_EQ(encode("hello,world!"), ids({"▁hello", "▁,", "▁world", "▁!"}));
  EXPECT_EQ(encode("$hello%/"), ids({"▁$", "▁hello", "▁%", "▁/"}));
  EXPECT_EQ(encode("中文hello"), ids({"▁中", "▁文", "▁hello"}));
  // A non-ASCII symbol (U+00A9, ©) joins the word: "▁hello©" is no token.
  EXPECT_EQ(encode("hello\u00A9"), ids({"[UNK]"}));
}

TEST_F(WpmTiny, LowercasesAndStripsAccents) {
  EXPECT_EQ(encode("HeLLo"), ids({"▁hello"}));
  EXPECT_EQ(encode("Café ÉCOLE"), ids({"▁cafe", "▁ecole"}));
  EXPECT_EQ(encode("cafe\u0301"), ids({"▁cafe"}));  // a combining accent is dropped
  EXPECT_EQ(encode("\u212Bb"), encode("ab"));         // the Angstrom sign decomposes to A
}

TEST_F(WpmTiny, NormalizerFlagsTurnItOff) {
  vocab_.lowercase = false;
  vocab_.strip_accents = false;
  const WpmTokenizer cased(vocab_);
  EXPECT_EQ(cased.encode("Hello café"), ids({"▁Hello", "▁café"}));
  EXPECT_EQ(cased.encode("hello cafe\u0301"), ids({"▁hello", "[UNK]"}));  // the accent stays
}

TEST_F(WpmTiny, WhitespaceSeparatesAndControlsAreDropped) {
  EXPECT_EQ(encode("hello\u3000world\u00A0hello\u2029world"), ids({"▁hello", "▁world", "▁hello", "▁world"}));
  // Cc, Cf (U+200B, U+FEFF), Co, NUL.
  EXPECT_EQ(encode(std::string("hel\x01l\u200Bo\uFEFF\uE000") + '\0' + "!"), ids({"▁hello", "▁!"}));
}

// Bytes as llama.cpp's unicode_cpt_from_utf8 reads them.
TEST_F(WpmTiny, ReadsInvalidUtf8AsLlamaCpp) {
  EXPECT_EQ(encode("hel\xFFlo"), ids({"▁hello"}));          // a bad byte is U+FFFD, dropped
  EXPECT_EQ(encode("hel\xED\xA0\x80lo"), ids({"▁hello"}));  // a surrogate is a control character
  EXPECT_EQ(encode("hello\xC0\xACworld"), ids({"▁hello", "▁,", "▁world"}));  // overlong ","
  EXPECT_EQ(encode("hel\xF7\xBF\xBF\xBFlo"), ids({"▁hello"}));  // past U+10FFFF: dropped
}

TEST_F(WpmTiny, PiecesStartWordsWithASpace) {
  EXPECT_EQ(wpm_.piece(id("▁unaff")), " unaff");
  EXPECT_EQ(wpm_.piece(id("able")), "able");
  EXPECT_EQ(wpm_.piece(id("[CLS]")), "");
  EXPECT_EQ(wpm_.piece(id("[UNK]")), "");
  EXPECT_EQ(wpm_.piece(-1), "");
  EXPECT_EQ(wpm_.piece(TokenId(vocab_.size())), "");
}

TEST(WpmTokenizer, NeedsAnUnknownToken) {
  Vocab vocab = word_piece_vocab({"▁a"});
  EXPECT_THROW(WpmTokenizer{vocab}, model::ModelError);
}

TEST(WpmTokenizerInTokenizer, AddsClsAndSepAndDecodesWords) {
  const Tokenizer tokenizer(word_piece_vocab(kTinyTokens));
  const Vocab& v = tokenizer.vocab();
  const Ids ids = tokenizer.encode("Unaffable, world!", true);
  EXPECT_EQ(ids, (Ids{v.cls, v.id_of("▁unaff"), v.id_of("able"), v.id_of("▁,"), v.id_of("▁world"),
                      v.id_of("▁!"), v.sep}));
  EXPECT_EQ(tokenizer.encode("hello", false), (Ids{v.id_of("▁hello")}));
  EXPECT_EQ(tokenizer.decode(ids), "unaffable , world !");
  EXPECT_TRUE(tokenizer.adds_leading_space());
  // Control tokens are read from the text only when asked.
  EXPECT_EQ(tokenizer.encode("[SEP]hello", false, true), (Ids{v.sep, v.id_of("▁hello")}));

  // Streaming gives what decode gives, the first word's space dropped.
  StreamDecoder stream(tokenizer, true);
  std::string streamed;
  for (const TokenId id : ids) streamed += stream.push(id);
  streamed += stream.finish();
  EXPECT_EQ(streamed, tokenizer.decode(ids));
}

TEST(WpmVectors, MatchLlamaCppIdForId) {
  std::optional<Vocab> vocab = shared_vocab(kBge);
  if (!vocab) GTEST_SKIP() << kBge << " is not under ../shared";
  const std::vector<std::string> inputs = vector_inputs(read_file(kShared + kBge + ".inp"));
  const std::vector<Ids> outputs = vector_outputs(read_file(kShared + kBge + ".out"));
  ASSERT_FALSE(inputs.empty());
  ASSERT_EQ(inputs.size(), outputs.size());

  const Tokenizer tokenizer(std::move(*vocab));  // as llama.cpp's test: add_special and parse_special off
  size_t matching = 0;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Ids ids = tokenizer.encode(inputs[i], false);
    EXPECT_EQ(ids, outputs[i]) << "string " << i << ": \"" << inputs[i] << "\"";
    matching += ids == outputs[i];
  }
  RecordProperty("matching", std::to_string(matching) + "/" + std::to_string(inputs.size()));
}

class WpmBge : public testing::Test {
 protected:
  void SetUp() override {
    std::optional<Vocab> vocab = shared_vocab(kBge);
    if (!vocab) GTEST_SKIP() << kBge << " is not under ../shared";
    tokenizer_.emplace(std::move(*vocab));
  }
  std::optional<Tokenizer> tokenizer_;
};

TEST_F(WpmBge, AddSpecialPutsClsFirstAndSepLast) {
  EXPECT_EQ(tokenizer_->encode("Hello world", true), (Ids{101, 7592, 2088, 102}));
  EXPECT_EQ(tokenizer_->encode("", true), (Ids{101, 102}));
}

TEST_F(WpmBge, DecodeJoinsWordsWithSpaces) {
  EXPECT_EQ(tokenizer_->encode(" discards", false), (Ids{5860, 18117}));  // a word and a continuation
  EXPECT_EQ(tokenizer_->decode(tokenizer_->encode(" Hello, World: it discards!", true)),
            "hello , world : it discards !");
  EXPECT_EQ(tokenizer_->piece(18117), "ards");
  EXPECT_EQ(tokenizer_->piece(5860), " disc");
}

TEST_F(WpmBge, UnknownWordsAccentsCaseAndIdeographs) {
  EXPECT_EQ(tokenizer_->encode("🦙", false), (Ids{100}));
  EXPECT_EQ(tokenizer_->decode(Ids{100}), "");  // [UNK] is a control token here
  EXPECT_EQ(tokenizer_->encode("ÉCOLE Café naïve", false), tokenizer_->encode("ecole cafe naive", false));
  const Ids zhong = tokenizer_->encode("中", false);
  const Ids wen = tokenizer_->encode("文", false);
  ASSERT_EQ(zhong.size(), 1u);
  ASSERT_EQ(wen.size(), 1u);
  EXPECT_NE(zhong[0], 100);
  EXPECT_EQ(tokenizer_->encode("中文", false), (Ids{zhong[0], wen[0]}));
  EXPECT_EQ(tokenizer_->decode(Ids{zhong[0], wen[0]}), "中 文");
}

}  // namespace
}  // namespace rs::tokenizer
