#include "core/tokenizer/tokenizer.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "core/model/gguf_reader.h"

namespace rs::tokenizer {
namespace {

Tokenizer load(const std::string& relative) {
  const std::string path = RINGSERVE_SOURCE_DIR "/../shared/" + relative;
  return Tokenizer(vocab_from_metadata(model::read_gguf(path).metadata, path));
}

bool have_shared() {
  if (std::filesystem::exists(RINGSERVE_SOURCE_DIR "/../shared/README.md")) return true;
  if (std::getenv("CI") != nullptr) {
    ADD_FAILURE() << "../shared is missing under CI";
  }
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

}  // namespace
}  // namespace rs::tokenizer
