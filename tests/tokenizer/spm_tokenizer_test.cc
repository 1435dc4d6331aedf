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

#include "core/model/gguf_reader.h"

namespace rs::tokenizer {
namespace {

const std::string kShared = RINGSERVE_SOURCE_DIR "/../shared/";

// The vocabulary of a GGUF under ../shared, or nullopt when the file is absent
// (a failure under CI, where the shared files must be there).
std::optional<Vocab> shared_vocab(const std::string& relative_path) {
  const std::string path = kShared + relative_path;
  if (!std::filesystem::exists(path)) {
    if (std::getenv("CI") != nullptr) ADD_FAILURE() << path << " is missing under CI";
    return std::nullopt;
  }
  return vocab_from_metadata(model::read_gguf(path).metadata, path);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

// llama.cpp's test-tokenizer-0 layout: every input followed by this separator.
std::vector<std::string> vector_inputs(const std::string& path) {
  constexpr std::string_view kSeparator = "\n__ggml_vocab_test__\n";
  const std::string content = read_file(path);
  std::vector<std::string> inputs;
  for (size_t start = 0; start < content.size();) {
    const size_t end = content.find(kSeparator, start);
    if (end == std::string::npos) break;
    inputs.push_back(content.substr(start, end - start));
    start = end + kSeparator.size();
  }
  return inputs;
}

std::vector<std::vector<TokenId>> vector_outputs(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::vector<TokenId>> outputs;
  for (std::string line; std::getline(in, line);) {
    std::istringstream ids(line);
    outputs.emplace_back();
    for (TokenId id; ids >> id;) outputs.back().push_back(id);
  }
  return outputs;
}

std::string decode(const SpmTokenizer& tokenizer, const std::vector<TokenId>& ids) {
  std::string text;
  for (const TokenId id : ids) text += tokenizer.piece(id);
  return text;
}

void expect_vectors_match(const std::string& vocab_name) {
  const std::string base = "tokenizers/ggml-vocab/" + vocab_name;
  const std::optional<Vocab> vocab = shared_vocab(base);
  if (!vocab) GTEST_SKIP() << kShared << base << " is absent";
  const SpmTokenizer tokenizer(*vocab);
  const auto inputs = vector_inputs(kShared + base + ".inp");
  const auto outputs = vector_outputs(kShared + base + ".out");
  ASSERT_EQ(inputs.size(), outputs.size());
  ASSERT_FALSE(inputs.empty());
  size_t matched = 0;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const auto ids = tokenizer.encode(inputs[i]);
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
  EXPECT_EQ(SpmTokenizer(*vocab).encode("Once upon a time"), (std::vector<TokenId>{403, 407, 261, 378}));
}

TEST(SpmTokenizer, Llama2RoundTrips) {
  const std::optional<Vocab> vocab = shared_vocab("tokenizers/llama2-vocab.gguf");
  if (!vocab) GTEST_SKIP() << "llama2-vocab.gguf is absent";
  const SpmTokenizer tokenizer(*vocab);
  EXPECT_EQ(tokenizer.encode("Hello world"), (std::vector<TokenId>{15043, 3186}));
  for (const std::string text : {"Hello world", "  two leading spaces", "tabs\tand\nnewlines\n",
                                 "Grüße, 日本語 and emoji 🦙!", "x"}) {
    const auto ids = tokenizer.encode(text);
    EXPECT_EQ(decode(tokenizer, ids), " " + text) << text;
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
  EXPECT_TRUE(SpmTokenizer(*vocab).encode("").empty());
}

TEST(SpmTokenizer, InvalidUtf8FallsBackToBytes) {
  const std::optional<Vocab> vocab = shared_vocab("tokenizers/llama2-vocab.gguf");
  if (!vocab) GTEST_SKIP() << "llama2-vocab.gguf is absent";
  const SpmTokenizer tokenizer(*vocab);
  const TokenId byte_ff = vocab->id_of("<0xFF>");
  const TokenId byte_80 = vocab->id_of("<0x80>");
  // A stray continuation byte and a byte no UTF-8 lead byte can be: one byte token each.
  const auto ids = tokenizer.encode("a\x80\xFF");
  ASSERT_GE(ids.size(), 2u);
  EXPECT_EQ(ids[ids.size() - 2], byte_80);
  EXPECT_EQ(ids.back(), byte_ff);
  for (const std::string& text : {std::string("\xC3"), std::string("ok\xE2\x96"), std::string("\xF0\x9F\xA6 x"),
                                 std::string("\xC0\xAF\xED\xA0\x80 end"), std::string("nul\0byte", 8)}) {
    EXPECT_EQ(decode(tokenizer, tokenizer.encode(text)), " " + text);
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
  const auto ids = tokenizer.encode(text);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("1 MiB encoded in %.3f s (%.1f MB/s), %zu tokens\n", seconds, text.size() / seconds / 1e6, ids.size());
  EXPECT_EQ(decode(tokenizer, ids), " " + text);
  // One long word: a single merge chain, the case a quadratic merge loop would stall on.
  const std::string word(1u << 20, 'a');
  EXPECT_EQ(decode(tokenizer, tokenizer.encode(word)), " " + word);
}

}  // namespace
}  // namespace rs::tokenizer
