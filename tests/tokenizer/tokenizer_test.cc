#include "core/tokenizer/tokenizer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "core/model/gguf_reader.h"
#include "core/tokenizer/special_tokens.h"
#include "tests/support/ci.h"
#include "tests/tokenizer/llama_cpp_vectors.h"

namespace rs::tokenizer {
namespace {

Tokenizer load(const std::string& relative) {
  const std::string path = RINGSERVE_SOURCE_DIR "/../shared/" + relative;
  return Tokenizer(vocab_from_metadata(model::read_gguf(path).metadata, path));
}

bool have_shared() {
  if (std::filesystem::exists(RINGSERVE_SOURCE_DIR "/../shared/README.md")) return true;
  if (test::under_ci()) ADD_FAILURE() << "../shared is missing under CI";
  return false;
}

// tests/data/llama_cpp_reference.json: what llama.cpp fed its model.
TEST(Tokenizer, AddsBosLikeLlamaCpp) {
  if (!have_shared()) GTEST_SKIP() << "../shared is absent";
  const Tokenizer stories = load("models/stories260K.gguf");
  EXPECT_EQ(stories.encode("Once upon a time", true), (std::vector<TokenId>{1, 403, 407, 261, 378}));
  EXPECT_EQ(stories.encode("Once upon a time", false), (std::vector<TokenId>{403, 407, 261, 378}));
  const Tokenizer smollm = load("tokenizers/smollm2-vocab.gguf");  // add_bos is false there
  EXPECT_EQ(smollm.encode("Hello", true), smollm.encode("Hello", false));
}

TEST(Tokenizer, DecodeInvertsEncodeForBothAlgorithms) {
  if (!have_shared()) GTEST_SKIP() << "../shared is absent";
  for (const char* vocab : {"tokenizers/llama2-vocab.gguf", "tokenizers/llama3.2-vocab.gguf",
                            "tokenizers/smollm2-vocab.gguf"}) {
    const Tokenizer t = load(vocab);
    for (const std::string text : {"Hello world", "  two leading spaces", "tabs\tand\nnewlines",
                                   "numbers 1234567 and ünïcödé, 日本語, 🙂"}) {
      EXPECT_EQ(t.decode(t.encode(text, true)), text) << vocab << ": " << text;
    }
  }
}

// Control tokens in user text stay text unless the caller parses them (llama.cpp's parse_special).
TEST(Tokenizer, ParsesControlTokensOnlyWhenAsked) {
  if (!have_shared()) GTEST_SKIP() << "../shared is absent";
  const Tokenizer llama3 = load("tokenizers/llama3.2-vocab.gguf");
  const TokenId eot = llama3.vocab().id_of("<|eot_id|>");
  const TokenId header = llama3.vocab().id_of("<|start_header_id|>");
  ASSERT_GE(eot, 0);
  const std::string text = "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>";
  const std::vector<TokenId> parsed = llama3.encode(text, false, true);
  ASSERT_EQ(parsed.size(), 6u);
  EXPECT_EQ(parsed.front(), header);
  EXPECT_EQ(parsed.back(), eot);
  EXPECT_EQ(std::vector<TokenId>(parsed.begin() + 1, parsed.begin() + 2), llama3.encode("user", false));
  const std::vector<TokenId> plain = llama3.encode(text, false);
  EXPECT_EQ(std::count(plain.begin(), plain.end(), eot), 0);
  EXPECT_EQ(llama3.decode(plain), text);  // the text survives as text
}

// llama.cpp puts SentencePiece's space prefix before the text and after every special token.
TEST(Tokenizer, SentencePieceSpacePrefixFollowsSpecialTokens) {
  if (!have_shared()) GTEST_SKIP() << "../shared is absent";
  const Tokenizer llama2 = load("tokenizers/llama2-vocab.gguf");
  const std::vector<TokenId> hello = llama2.encode("Hello", false);
  std::vector<TokenId> expected = {llama2.vocab().bos};
  expected.insert(expected.end(), hello.begin(), hello.end());
  expected.push_back(llama2.vocab().eos);
  expected.insert(expected.end(), hello.begin(), hello.end());
  EXPECT_EQ(llama2.encode("<s>Hello</s>Hello", false, true), expected);
  EXPECT_EQ(llama2.encode("<unk>", false, true), (std::vector<TokenId>{llama2.vocab().unk}));
  EXPECT_NE(llama2.encode("<s>", false), (std::vector<TokenId>{llama2.vocab().bos}));
}

// Overlapping candidates: the longer token wins wherever it occurs, as in llama.cpp.
TEST(Tokenizer, LongerSpecialTokensAreMatchedFirst) {
  Vocab vocab;
  vocab.model = "gpt2";
  vocab.pre = "gpt-2";
  for (const char* token : {"a", "b", "<x>", "<x><y>", "<y>"}) {
    vocab.ids[token] = TokenId(vocab.tokens.size());
    vocab.tokens.push_back(token);
  }
  vocab.types = {TokenType::normal, TokenType::normal, TokenType::control, TokenType::control, TokenType::user_defined};
  const Tokenizer tokenizer(std::move(vocab));
  EXPECT_EQ(tokenizer.encode("a<x><y>b<y><x>", false, true), (std::vector<TokenId>{0, 3, 1, 4, 2}));
  // Without parse_special only the user-defined token is cut out; "<x>" stays text.
  const std::vector<TokenId> plain = tokenizer.encode("<x><y>", false);
  EXPECT_EQ(plain.back(), 4);
  EXPECT_EQ(std::count(plain.begin(), plain.end(), 2), 0);
}

// A vocabulary of single characters (GPT-2's bytes for ASCII are the characters themselves) and special tokens.
Tokenizer characters_and_specials() {
  Vocab vocab;
  vocab.model = "gpt2";
  vocab.pre = "gpt-2";
  const std::pair<const char*, TokenType> tokens[] = {
      {"a", TokenType::normal},           // 0
      {"b", TokenType::normal},           // 1
      {"<", TokenType::normal},           // 2
      {"x", TokenType::normal},           // 3
      {">", TokenType::normal},           // 4
      {"y", TokenType::normal},           // 5
      {"<x>", TokenType::control},        // 6
      {"<x><y>", TokenType::control},     // 7
      {"<y>", TokenType::user_defined},   // 8
      {"<u>", TokenType::unknown},        // 9
      {"u", TokenType::normal},           // 10
  };
  for (const auto& [text, type] : tokens) {
    vocab.ids[text] = TokenId(vocab.tokens.size());
    vocab.tokens.push_back(text);
    vocab.types.push_back(type);
  }
  return Tokenizer(std::move(vocab));
}

// A guard (the offset of a byte of the client's text) leaves every control or unknown token that would cover it text.
TEST(Tokenizer, GuardedBytesKeepControlTokensText) {
  const Tokenizer t = characters_and_specials();
  using Ids = std::vector<TokenId>;
  EXPECT_EQ(t.encode("a<x>b", false, true), (Ids{0, 6, 1}));
  for (const size_t guard : {1, 2, 3}) {  // on any byte of "<x>"
    EXPECT_EQ(t.encode("a<x>b", false, true, std::vector<size_t>{guard}), (Ids{0, 2, 3, 4, 1})) << guard;
  }
  for (const size_t guard : {0, 4}) {  // just before it, just after it
    EXPECT_EQ(t.encode("a<x>b", false, true, std::vector<size_t>{guard}), (Ids{0, 6, 1})) << guard;
  }
  // A guarded longer token leaves the shorter ones in it to their own guards; a user-defined one is read anyway.
  EXPECT_EQ(t.encode("<x><y>", false, true, std::vector<size_t>{4}), (Ids{6, 8}));
  EXPECT_EQ(t.encode("<x><y>", false, true, std::vector<size_t>{1, 4}), (Ids{2, 3, 4, 8}));
  EXPECT_EQ(t.encode("<u><u>", false, true, std::vector<size_t>{4}), (Ids{9, 2, 10, 4}));
  // Guarded bytes read as they do without parse_special.
  EXPECT_EQ(t.encode("a<x><u>", false, true, std::vector<size_t>{2, 5}), t.encode("a<x><u>", false));
}

TEST(Tokenizer, ParsedSpecialTextsAreTheControlAndUnknownTokens) {
  EXPECT_EQ(characters_and_specials().parsed_special_texts(), (std::vector<std::string_view>{"<x><y>", "<x>", "<u>"}));
}

}  // namespace
}  // namespace rs::tokenizer

namespace rs::tokenizer {
namespace {

// llama.cpp's special_eog_ids for these vocabularies.
TEST(EndOfGeneration, EosAndTheEndOfTurnTokens) {
  const std::optional<Vocab> llama3 = vectors::shared_vocab("tokenizers/llama3.2-vocab.gguf");
  const std::optional<Vocab> smollm2 = vectors::shared_vocab("tokenizers/smollm2-vocab.gguf");
  if (!llama3 || !smollm2) GTEST_SKIP() << "llama3.2 / smollm2 vocabularies are not under ../shared/tokenizers";
  std::vector<TokenId> ids = end_of_generation_tokens(*llama3);
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(ids, (std::vector<TokenId>{128001, 128008, 128009}));  // end_of_text, eom_id, eot_id
  ids = end_of_generation_tokens(*smollm2);
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(ids, (std::vector<TokenId>{0, 2}));  // <|endoftext|>, <|im_end|>
}

}  // namespace
}  // namespace rs::tokenizer
