#include "core/tokenizer/vocab.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "core/model/gguf_reader.h"
#include "core/model/model_error.h"

namespace rs::tokenizer {
namespace {

std::string shared_file(const std::string& relative) {
  const std::string path = RINGSERVE_SOURCE_DIR "/../shared/" + relative;
  if (!std::filesystem::exists(path)) {
    if (std::getenv("CI") != nullptr) {
      ADD_FAILURE() << path << " is missing under CI";
    }
    return {};
  }
  return path;
}

Vocab load(const std::string& path) { return vocab_from_metadata(model::read_gguf(path).metadata, path); }

TEST(Vocab, SentencePieceVocabularies) {
  const std::string path = shared_file("tokenizers/llama2-vocab.gguf");
  if (path.empty()) GTEST_SKIP() << "../shared is absent";
  const Vocab v = load(path);
  EXPECT_EQ(v.model, "llama");
  EXPECT_EQ(v.size(), 32000u);
  EXPECT_EQ(v.scores.size(), 32000u);
  EXPECT_EQ(v.bos, 1);
  EXPECT_EQ(v.eos, 2);
  EXPECT_EQ(v.unk, 0);
  EXPECT_TRUE(v.add_bos);
  EXPECT_TRUE(v.add_space_prefix);
  EXPECT_EQ(v.types[3], TokenType::byte);  // <0x00>
  EXPECT_EQ(v.id_of("<0x0A>"), 13);
  EXPECT_EQ(v.id_of("not a token"), -1);
}

TEST(Vocab, ByteLevelBpeVocabularies) {
  const std::string path = shared_file("tokenizers/smollm2-vocab.gguf");
  if (path.empty()) GTEST_SKIP() << "../shared is absent";
  const Vocab v = load(path);
  EXPECT_EQ(v.model, "gpt2");
  EXPECT_EQ(v.pre, "smollm");
  EXPECT_EQ(v.size(), 49152u);
  ASSERT_EQ(v.merges.size(), 48900u);
  EXPECT_EQ(v.merges[0], (std::pair<std::string, std::string>{"\u0120", "t"}));
  EXPECT_TRUE(v.scores.empty());
  EXPECT_FALSE(v.add_bos);
  EXPECT_FALSE(v.add_space_prefix);
  EXPECT_EQ(v.types[0], TokenType::control);
}

TEST(Vocab, MalformedMetadataIsNamed) {
  model::Metadata m;
  EXPECT_THROW(vocab_from_metadata(m, "x.gguf"), model::ModelError);
  m.push_back({"tokenizer.ggml.model", {model::MetaType::string, model::MetaType::u32, std::string("bert")}});
  try {
    vocab_from_metadata(m, "x.gguf");
    FAIL();
  } catch (const model::ModelError& e) {
    EXPECT_STREQ(e.what(), "x.gguf: tokenizer.ggml.model \"bert\" is not supported (llama, gpt2)");
  }
  m[0].second.value = std::string("llama");
  m.push_back({"tokenizer.ggml.tokens", {model::MetaType::array, model::MetaType::string,
                                         model::MetaArray{{model::MetaType::string, model::MetaType::u32, std::string("a")}}}});
  m.push_back({"tokenizer.ggml.bos_token_id", {model::MetaType::u32, model::MetaType::u32, uint64_t{7}}});
  try {
    vocab_from_metadata(m, "x.gguf");
    FAIL();
  } catch (const model::ModelError& e) {
    EXPECT_STREQ(e.what(), "x.gguf: tokenizer.ggml.bos_token_id = 7 is not a token id (vocabulary of 1)");
  }
}

}  // namespace
}  // namespace rs::tokenizer
