#include "core/tokenizer/vocab.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "core/model/gguf_reader.h"
#include "core/model/gguf_writer.h"
#include "core/model/model_error.h"
#include "tests/support/ci.h"
#include "tests/support/meta_values.h"

namespace rs::tokenizer {
namespace {

std::string shared_file(const std::string& relative) {
  const std::string path = RINGSERVE_SOURCE_DIR "/../shared/" + relative;
  if (!std::filesystem::exists(path)) {
    if (test::under_ci()) ADD_FAILURE() << path << " is missing under CI";
    return {};
  }
  return path;
}

Vocab load_vocab(const std::string& path) { return vocab_from_metadata(model::read_gguf(path).metadata, path); }

TEST(Vocab, SentencePieceVocabularies) {
  const std::string path = shared_file("tokenizers/llama2-vocab.gguf");
  if (path.empty()) GTEST_SKIP() << "../shared is absent";
  const Vocab v = load_vocab(path);
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
  const Vocab v = load_vocab(path);
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

TEST(Vocab, WordPieceVocabularies) {
  const std::string path = shared_file("tokenizers/ggml-vocab/ggml-vocab-bert-bge.gguf");
  if (path.empty()) GTEST_SKIP() << "../shared is absent";
  const Vocab v = load_vocab(path);
  EXPECT_EQ(v.model, "bert");
  EXPECT_EQ(v.size(), 30522u);
  EXPECT_EQ(v.cls, 101);  // from cls_token_id: the file has no BOS
  EXPECT_EQ(v.sep, 102);  // from llama.cpp's "seperator_token_id"
  EXPECT_EQ(v.unk, 100);
  EXPECT_EQ(v.pad, 0);
  EXPECT_EQ(v.bos, -1);
  EXPECT_TRUE(v.lowercase);
  EXPECT_TRUE(v.strip_accents);
  EXPECT_EQ(v.types[101], TokenType::control);
  EXPECT_EQ(v.id_of("\u2581hello"), 7592);
  EXPECT_EQ(v.id_of("ards"), 18117);  // a continuation: BERT's "##" stripped
}

using model::MetaArray;
using model::Metadata;
using model::MetaType;
using model::MetaValue;

using rs::test::array_of;
using rs::test::f32;
using rs::test::flag;
using rs::test::i32;
using rs::test::text;
using rs::test::u32;
using rs::test::value_of;

MetaValue texts(std::initializer_list<std::string> items) {
  MetaArray elements;
  for (const std::string& item : items) elements.push_back(text(item));
  return array_of(MetaType::string, std::move(elements));
}

template <typename T>
MetaValue numbers(MetaType type, std::initializer_list<T> items) {
  MetaArray elements;
  for (const T item : items) elements.push_back(value_of(type, item));
  return array_of(type, std::move(elements));
}

// A tiny SentencePiece vocabulary with every key vocab.cc reads: each case below breaks one of them.
Metadata tiny_vocab() {
  return {
      {"general.name", text("tiny")},
      {"tokenizer.ggml.model", text("llama")},
      {"tokenizer.ggml.pre", text("default")},
      {"tokenizer.ggml.tokens", texts({"<unk>", "<s>", "</s>", "a"})},
      {"tokenizer.ggml.scores", numbers<double>(MetaType::f32, {0, 0, 0, -1})},
      {"tokenizer.ggml.token_type", numbers<int64_t>(MetaType::i32, {2, 3, 3, 1})},
      {"tokenizer.ggml.merges", texts({"a a"})},
      {"tokenizer.ggml.bos_token_id", u32(1)},
      {"tokenizer.ggml.eos_token_id", u32(2)},
      {"tokenizer.ggml.unknown_token_id", u32(0)},
      {"tokenizer.ggml.padding_token_id", u32(4294967295)},  // llama.cpp's "none"
      {"tokenizer.ggml.add_bos_token", flag(true)},
      {"tokenizer.ggml.add_eos_token", flag(false)},
      {"tokenizer.ggml.add_space_prefix", flag(false)},
      {"tokenizer.chat_template", text("{{ messages }}")},
  };
}

// One key of tiny_vocab() replaced (or removed, without a value), and the error that follows "PATH: ".
struct BrokenKey {
  std::string name;
  std::string key;
  std::optional<MetaValue> value;
  std::string error;
};

std::ostream& operator<<(std::ostream& out, const BrokenKey& c) { return out << c.name; }

// tiny_vocab() with `key` set to `value`, or removed without one.
Metadata replaced(std::string_view key, const std::optional<MetaValue>& value) {
  Metadata metadata = tiny_vocab();
  const auto at = std::find_if(metadata.begin(), metadata.end(), [&](const auto& kv) { return kv.first == key; });
  if (value) {
    at->second = *value;
  } else {
    metadata.erase(at);
  }
  return metadata;
}

// A GGUF file per test in a directory of its own.
class VocabFile : public testing::Test {
 protected:
  void SetUp() override {
    const testing::TestInfo* test = testing::UnitTest::GetInstance()->current_test_info();
    std::string name = fmt::format("ringserve-vocab-{}-{}-{}", ::getpid(), test->test_suite_name(), test->name());
    std::replace(name.begin(), name.end(), '/', '_');  // parameterized names hold a slash
    dir_ = std::filesystem::temp_directory_path() / name;
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string write(const Metadata& metadata) const {
    const std::string path = (dir_ / "vocab.gguf").string();
    model::write_gguf(path, metadata, {});
    return path;
  }

  std::filesystem::path dir_;
};

TEST_F(VocabFile, TheUnbrokenVocabularyLoads) {
  const Vocab v = read_vocab(write(tiny_vocab()));
  EXPECT_EQ(v.name, "tiny");
  EXPECT_EQ(v.model, "llama");
  EXPECT_EQ(v.pre, "default");
  EXPECT_EQ(v.tokens, (std::vector<std::string>{"<unk>", "<s>", "</s>", "a"}));
  EXPECT_EQ(v.scores, (std::vector<float>{0, 0, 0, -1}));
  EXPECT_EQ(v.types, (std::vector<TokenType>{TokenType::unknown, TokenType::control, TokenType::control,
                                             TokenType::normal}));
  EXPECT_EQ(v.merges, (std::vector<std::pair<std::string, std::string>>{{"a", "a"}}));
  EXPECT_EQ(v.bos, 1);
  EXPECT_EQ(v.eos, 2);
  EXPECT_EQ(v.unk, 0);
  EXPECT_EQ(v.pad, -1);
  EXPECT_TRUE(v.add_bos);
  EXPECT_FALSE(v.add_eos);
  EXPECT_FALSE(v.add_space_prefix);
  EXPECT_EQ(v.chat_template, "{{ messages }}");
}

TEST_F(VocabFile, MinusOneIsNoToken) {
  EXPECT_EQ(read_vocab(write(replaced("tokenizer.ggml.eos_token_id", i32(-1)))).eos, -1);
}

// A "bert" vocabulary of `size` tokens with the given keys.
Metadata word_piece_vocab(size_t size, std::initializer_list<std::pair<std::string, MetaValue>> keys) {
  MetaArray tokens;
  for (size_t i = 0; i < size; ++i) tokens.push_back(text(fmt::format("t{}", i)));
  Metadata metadata = {{"tokenizer.ggml.model", text("bert")},
                       {"tokenizer.ggml.tokens", array_of(MetaType::string, std::move(tokens))}};
  metadata.insert(metadata.end(), keys.begin(), keys.end());
  return metadata;
}

TEST_F(VocabFile, WordPieceClsIsTheBosAsLlamaCppAddsIt) {
  const Vocab named = read_vocab(write(word_piece_vocab(
      4, {{"tokenizer.ggml.cls_token_id", u32(1)}, {"tokenizer.ggml.seperator_token_id", u32(2)},
          {"tokenizer.ggml.unknown_token_id", u32(0)}})));
  EXPECT_EQ(named.cls, 1);
  EXPECT_EQ(named.sep, 2);
  EXPECT_EQ(named.unk, 0);
  const Vocab with_bos = read_vocab(write(word_piece_vocab(
      4, {{"tokenizer.ggml.bos_token_id", u32(3)}, {"tokenizer.ggml.cls_token_id", u32(1)}})));
  EXPECT_EQ(with_bos.cls, 3);
}

// llama.cpp's defaults for "bert": [UNK] 100, [CLS] 101, [SEP] 102 where the vocabulary has them.
TEST_F(VocabFile, WordPieceIdsTheFileLacksAreBerts) {
  const Vocab large = read_vocab(write(word_piece_vocab(103, {})));
  EXPECT_EQ(large.unk, 100);
  EXPECT_EQ(large.cls, 101);
  EXPECT_EQ(large.sep, 102);
  const Vocab none = read_vocab(write(word_piece_vocab(4, {{"tokenizer.ggml.seperator_token_id", i32(-1)}})));
  EXPECT_EQ(none.unk, -1);
  EXPECT_EQ(none.cls, -1);
  EXPECT_EQ(none.sep, -1);
}

// As BertNormalizer: strip_accents follows lowercase unless given.
TEST_F(VocabFile, WordPieceNormalizerFlags) {
  const Vocab cased = read_vocab(write(word_piece_vocab(4, {{"tokenizer.ggml.normalizer.lowercase", flag(false)}})));
  EXPECT_FALSE(cased.lowercase);
  EXPECT_FALSE(cased.strip_accents);
  const Vocab stripped = read_vocab(write(word_piece_vocab(
      4, {{"tokenizer.ggml.normalizer.lowercase", flag(false)},
          {"tokenizer.ggml.normalizer.strip_accents", flag(true)}})));
  EXPECT_FALSE(stripped.lowercase);
  EXPECT_TRUE(stripped.strip_accents);
}

class BrokenVocabFile : public VocabFile, public testing::WithParamInterface<BrokenKey> {};

TEST_P(BrokenVocabFile, NamesTheFileAndTheField) {
  const std::string path = write(replaced(GetParam().key, GetParam().value));
  try {
    read_vocab(path);
    FAIL() << "read without an error";
  } catch (const model::ModelError& e) {
    EXPECT_EQ(std::string(e.what()), path + ": " + GetParam().error);
  }
}

constexpr uint64_t kHugeId = std::numeric_limits<uint64_t>::max();

INSTANTIATE_TEST_SUITE_P(
    Vocab, BrokenVocabFile,
    testing::Values(
        BrokenKey{"model_missing", "tokenizer.ggml.model", std::nullopt, "tokenizer.ggml.model is missing"},
        BrokenKey{"model_not_a_string", "tokenizer.ggml.model", u32(1),
                  "tokenizer.ggml.model must be a string (it is u32)"},
        BrokenKey{"model_unknown", "tokenizer.ggml.model", text("rwkv"),
                  "tokenizer.ggml.model \"rwkv\" is not supported (llama, gpt2, bert)"},
        BrokenKey{"name_not_a_string", "general.name", u32(7), "general.name must be a string (it is u32)"},
        BrokenKey{"pre_not_a_string", "tokenizer.ggml.pre", flag(true),
                  "tokenizer.ggml.pre must be a string (it is bool)"},
        BrokenKey{"tokens_missing", "tokenizer.ggml.tokens", std::nullopt, "tokenizer.ggml.tokens is missing"},
        BrokenKey{"tokens_not_an_array", "tokenizer.ggml.tokens", text("a"),
                  "tokenizer.ggml.tokens must be an array of strings (it is string)"},
        BrokenKey{"tokens_not_strings", "tokenizer.ggml.tokens", numbers<uint64_t>(MetaType::u32, {1, 2, 3, 4}),
                  "tokenizer.ggml.tokens[0] must be a string (it is u32)"},
        BrokenKey{"tokens_empty", "tokenizer.ggml.tokens", texts({}), "tokenizer.ggml.tokens is empty"},
        BrokenKey{"scores_not_an_array", "tokenizer.ggml.scores", f32(0),
                  "tokenizer.ggml.scores must be an array of numbers (it is f32)"},
        BrokenKey{"scores_not_numbers", "tokenizer.ggml.scores", texts({"0", "0", "0", "0"}),
                  "tokenizer.ggml.scores[0] must be a number (it is string)"},
        BrokenKey{"scores_too_few", "tokenizer.ggml.scores", numbers<double>(MetaType::f32, {0, 0, 0}),
                  "tokenizer.ggml.scores has 3 entries for 4 tokens"},
        BrokenKey{"types_not_an_array", "tokenizer.ggml.token_type", i32(1),
                  "tokenizer.ggml.token_type must be an array of integers (it is i32)"},
        BrokenKey{"types_not_integers", "tokenizer.ggml.token_type", numbers<double>(MetaType::f32, {1, 1, 1, 1}),
                  "tokenizer.ggml.token_type[0] must be an integer (it is f32)"},
        BrokenKey{"types_too_many", "tokenizer.ggml.token_type",
                  numbers<int64_t>(MetaType::i32, {2, 3, 3, 1, 1}),
                  "tokenizer.ggml.token_type has 5 entries for 4 tokens"},
        BrokenKey{"type_past_byte", "tokenizer.ggml.token_type", numbers<int64_t>(MetaType::i32, {2, 3, 3, 7}),
                  "tokenizer.ggml.token_type[3] = 7 is not a token type (0 to 6)"},
        BrokenKey{"type_negative", "tokenizer.ggml.token_type", numbers<int64_t>(MetaType::i32, {2, 3, -1, 1}),
                  "tokenizer.ggml.token_type[2] = -1 is not a token type (0 to 6)"},
        BrokenKey{"merges_not_an_array", "tokenizer.ggml.merges", text("a a"),
                  "tokenizer.ggml.merges must be an array of strings (it is string)"},
        BrokenKey{"merges_not_strings", "tokenizer.ggml.merges", numbers<int64_t>(MetaType::i32, {1}),
                  "tokenizer.ggml.merges[0] must be a string (it is i32)"},
        BrokenKey{"merge_of_one_token", "tokenizer.ggml.merges", texts({"a a", "aa"}),
                  "tokenizer.ggml.merges[1] \"aa\" is not two tokens as \"a b\""},
        BrokenKey{"merge_with_a_leading_space", "tokenizer.ggml.merges", texts({" a"}),
                  "tokenizer.ggml.merges[0] \" a\" is not two tokens as \"a b\""},
        BrokenKey{"bos_not_an_integer", "tokenizer.ggml.bos_token_id", text("1"),
                  "tokenizer.ggml.bos_token_id must be an integer (it is string)"},
        BrokenKey{"bos_past_the_vocabulary", "tokenizer.ggml.bos_token_id", u32(4),
                  "tokenizer.ggml.bos_token_id = 4 is not a token id (vocabulary of 4)"},
        BrokenKey{"eos_negative", "tokenizer.ggml.eos_token_id", i32(-2),
                  "tokenizer.ggml.eos_token_id = -2 is not a token id (vocabulary of 4)"},
        BrokenKey{"unknown_past_int64", "tokenizer.ggml.unknown_token_id", value_of(MetaType::u64, kHugeId),
                  "tokenizer.ggml.unknown_token_id = 18446744073709551615 is not a token id (vocabulary of 4)"},
        BrokenKey{"padding_not_an_integer", "tokenizer.ggml.padding_token_id", f32(1),
                  "tokenizer.ggml.padding_token_id must be an integer (it is f32)"},
        BrokenKey{"add_bos_not_a_bool", "tokenizer.ggml.add_bos_token", value_of(MetaType::u8, uint64_t{1}),
                  "tokenizer.ggml.add_bos_token must be a bool (it is u8)"},
        BrokenKey{"add_eos_not_a_bool", "tokenizer.ggml.add_eos_token", text("false"),
                  "tokenizer.ggml.add_eos_token must be a bool (it is string)"},
        BrokenKey{"add_space_prefix_not_a_bool", "tokenizer.ggml.add_space_prefix", i32(0),
                  "tokenizer.ggml.add_space_prefix must be a bool (it is i32)"},
        BrokenKey{"chat_template_not_a_string", "tokenizer.chat_template", texts({"{{ messages }}"}),
                  "tokenizer.chat_template must be a string (it is an array of string)"}),
    [](const testing::TestParamInfo<BrokenKey>& info) { return info.param.name; });

}  // namespace
}  // namespace rs::tokenizer
