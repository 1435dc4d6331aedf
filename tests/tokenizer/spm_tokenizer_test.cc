// SpmTokenizer against llama.cpp: its test-tokenizer-0 vectors, a known
// prompt of stories260K, and round trips through piece().
#include "core/tokenizer/spm_tokenizer.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "tests/tokenizer/llama_cpp_vectors.h"
#include "core/tokenizer/tokenizer.h"

namespace rs::tokenizer {
namespace {

using namespace vectors;

std::string decode(const SpmTokenizer& tokenizer, const std::vector<TokenId>& ids) {
  std::string text;
  for (const TokenId id : ids) text += tokenizer.piece(id);
  return text;
}

void expect_vectors_match(const std::string& vocab_name) {
  const std::string base = "tokenizers/ggml-vocab/" + vocab_name;
  const std::optional<Vocab> vocab = shared_vocab(base);
  if (!vocab) GTEST_SKIP() << kShared << base << " is absent";
  const Tokenizer tokenizer(std::move(*vocab));  // as llama.cpp's test: no BOS, no special-token parsing
  const auto inputs = vector_inputs(read_file(kShared + base + ".inp"));
  const auto outputs = vector_outputs(read_file(kShared + base + ".out"));
  ASSERT_EQ(inputs.size(), outputs.size());
  ASSERT_FALSE(inputs.empty());
  size_t matched = 0;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const auto ids = tokenizer.encode(inputs[i], false);
    EXPECT_EQ(ids, outputs[i]) << "input " << i << ": \"" << inputs[i] << "\"";
    matched += ids == outputs[i];
  }
  std::printf("%s: %zu/%zu inputs match llama.cpp\n", vocab_name.c_str(), matched, inputs.size());
}

TEST(SpmTokenizerVectors, LlamaSpmMatchesLlamaCpp) { expect_vectors_match("ggml-vocab-llama-spm.gguf"); }

TEST(SpmTokenizerVectors, Phi3MatchesLlamaCpp) { expect_vectors_match("ggml-vocab-phi-3.gguf"); }

TEST(SpmTokenizer, Stories260KPromptMatchesLlamaCpp) {
  const std::optional<Vocab> vocab = shared_vocab("models/stories260K.gguf");
  if (!vocab) GTEST_SKIP() << "stories260K.gguf is absent";
  // tests/data/llama_cpp_reference.json: llama.cpp's prompt_ids after its BOS (1).
  EXPECT_EQ(SpmTokenizer(*vocab).encode("Once upon a time", true), (std::vector<TokenId>{403, 407, 261, 378}));
}

TEST(SpmTokenizer, Llama2RoundTrips) {
  const std::optional<Vocab> vocab = shared_vocab("tokenizers/llama2-vocab.gguf");
  if (!vocab) GTEST_SKIP() << "llama2-vocab.gguf is absent";
  const SpmTokenizer tokenizer(*vocab);
  EXPECT_EQ(tokenizer.encode("Hello world", true), (std::vector<TokenId>{15043, 3186}));
  for (const std::string text : {"Hello world", "  two leading spaces", "tabs\tand\nnewlines\n",
                                 "Grüße, 日本語 and emoji 🦙!", "x"}) {
    const auto ids = tokenizer.encode(text, true);
    EXPECT_EQ(decode(tokenizer, ids), " " + text) << text;
  }
}

// Without a space prefix (add_space_prefix false, as Gemma has) a first word of one or two bytes puts the first "▁"
// nearer the start than its own width (found by the gguf fuzz target: the look-back for a "▁" before it read before
// the text, and threw std::out_of_range).
TEST(SpmTokenizer, EncodesAShortFirstWordWithoutASpacePrefix) {
  const std::optional<Vocab> vocab = shared_vocab("tokenizers/llama2-vocab.gguf");
  if (!vocab) GTEST_SKIP() << "llama2-vocab.gguf is absent";
  const SpmTokenizer tokenizer(*vocab);
  for (const auto& [text, pieces] : {std::pair<std::string, std::vector<std::string>>{"a b", {"a", " b"}},
                                     {"hi there", {"hi", " there"}},
                                     {"I  am", {"I", " ", " am"}}}) {
    std::vector<std::string> got;
    for (const TokenId id : tokenizer.encode(text, false)) got.push_back(tokenizer.piece(id));
    EXPECT_EQ(got, pieces) << text;
  }
}

TEST(SpmTokenizer, PiecesFollowTokenTypes) {
  const std::optional<Vocab> vocab = shared_vocab("tokenizers/llama2-vocab.gguf");
  if (!vocab) GTEST_SKIP() << "llama2-vocab.gguf is absent";
  const SpmTokenizer tokenizer(*vocab);
  EXPECT_EQ(tokenizer.piece(vocab->bos), "");
  EXPECT_EQ(tokenizer.piece(vocab->eos), "");
  EXPECT_EQ(tokenizer.piece(vocab->id_of("<0x41>")), "A");
  EXPECT_EQ(tokenizer.piece(vocab->id_of("<0xFF>")), "\xFF");
  EXPECT_EQ(tokenizer.piece(vocab->id_of("\xE2\x96\x81the")), " the");
  EXPECT_EQ(tokenizer.piece(-1), "");
  EXPECT_EQ(tokenizer.piece(TokenId(vocab->size())), "");
}

TEST(SpmTokenizer, EmptyTextHasNoTokens) {
  const std::optional<Vocab> vocab = shared_vocab("tokenizers/llama2-vocab.gguf");
  if (!vocab) GTEST_SKIP() << "llama2-vocab.gguf is absent";
  EXPECT_TRUE(SpmTokenizer(*vocab).encode("", true).empty());
}

TEST(SpmTokenizer, InvalidUtf8FallsBackToBytes) {
  const std::optional<Vocab> vocab = shared_vocab("tokenizers/llama2-vocab.gguf");
  if (!vocab) GTEST_SKIP() << "llama2-vocab.gguf is absent";
  const SpmTokenizer tokenizer(*vocab);
  const TokenId byte_ff = vocab->id_of("<0xFF>");
  const TokenId byte_80 = vocab->id_of("<0x80>");
  // A stray continuation byte and a byte no UTF-8 lead byte can be: one byte token each.
  const auto ids = tokenizer.encode("a\x80\xFF", true);
  ASSERT_GE(ids.size(), 2u);
  EXPECT_EQ(ids[ids.size() - 2], byte_80);
  EXPECT_EQ(ids.back(), byte_ff);
  // (An invalid lead byte takes the bytes it announces along, as llama.cpp's symbols do: no space here.)
  for (const std::string& text : {std::string("\xC3"), std::string("ok\xE2\x96"), std::string("\xF0\x9F\xA6x"),
                                 std::string("\xC0\xAF\xED\xA0\x80 end"), std::string("nul\0byte", 8)}) {
    EXPECT_EQ(decode(tokenizer, tokenizer.encode(text, true)), " " + text);
  }
}

TEST(SpmTokenizer, MegabyteInputRoundTrips) {
  const std::optional<Vocab> vocab = shared_vocab("tokenizers/llama2-vocab.gguf");
  if (!vocab) GTEST_SKIP() << "llama2-vocab.gguf is absent";
  const SpmTokenizer tokenizer(*vocab);
  const std::string sentence = "The quick brown fox jumps over the lazy dog; naïve café, 東京 🦙.\n";
  std::string text;
  while (text.size() < (1u << 20)) text += sentence;
  const auto start = std::chrono::steady_clock::now();
  const auto ids = tokenizer.encode(text, true);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("1 MiB encoded in %.3f s (%.1f MB/s), %zu tokens\n", seconds, text.size() / seconds / 1e6, ids.size());
  EXPECT_EQ(decode(tokenizer, ids), " " + text);
  // One long word: a single merge chain, the case a quadratic merge loop would stall on.
  const std::string word(1u << 20, 'a');
  EXPECT_EQ(decode(tokenizer, tokenizer.encode(word, true)), " " + word);
}

}  // namespace
}  // namespace rs::tokenizer
