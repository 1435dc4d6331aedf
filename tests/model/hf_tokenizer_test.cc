// Hugging Face tokenizer files → GGUF tokenizer.* metadata: against vocab-only
// GGUFs made by llama.cpp's converter (../shared), and against small fixtures
// written into a temporary model directory.
#include "core/model/hf_tokenizer.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

#include "core/model/gguf_reader.h"
#include "core/model/model_error.h"
#include "core/model/safetensors_reader.h"
#include "tests/model/safetensors_fixture.h"
#include "tests/support/ci.h"

namespace rs::model {
namespace {

namespace fs = std::filesystem;
using fixture::write_file;
using rs::test::shared_file_present;

const fs::path kTokenizers = fs::path(RINGSERVE_SOURCE_DIR) / ".." / "shared" / "tokenizers";

bool scalar_equal(const MetaValue& a, const MetaValue& b) {
  return a.value.index() == b.value.index() && std::visit(
                                                   [&](const auto& x) {
                                                     using T = std::decay_t<decltype(x)>;
                                                     if constexpr (std::is_same_v<T, MetaArray>) {
                                                       return false;
                                                     } else {
                                                       return x == std::get<T>(b.value);
                                                     }
                                                   },
                                                   a.value);
}

// Where two values first differ, or "" when they are equal in type and value.
std::string difference(const MetaValue& ours, const MetaValue& theirs) {
  if (ours.type != theirs.type) {
    return fmt::format("type {} vs {}", meta_type_name(ours.type), meta_type_name(theirs.type));
  }
  const MetaArray* our_items = ours.as_array();
  const MetaArray* their_items = theirs.as_array();
  if (our_items == nullptr) return scalar_equal(ours, theirs) ? "" : "values differ";
  if (ours.element_type != theirs.element_type) {
    return fmt::format("element type {} vs {}", meta_type_name(ours.element_type),
                       meta_type_name(theirs.element_type));
  }
  if (our_items->size() != their_items->size()) {
    return fmt::format("length {} vs {}", our_items->size(), their_items->size());
  }
  for (size_t i = 0; i < our_items->size(); ++i) {
    const MetaValue& a = (*our_items)[i];
    const MetaValue& b = (*their_items)[i];
    if (a.type != b.type || !scalar_equal(a, b)) {
      const std::string* a_text = a.as_string();
      const std::string* b_text = b.as_string();
      return a_text != nullptr && b_text != nullptr ? fmt::format("[{}]: {:?} vs {:?}", i, *a_text, *b_text)
                                                     : fmt::format("[{}] differs", i);
    }
  }
  return "";
}

// Every tokenizer.* key of the oracle, with its type and value; of ours, only the oracle's and `extra`.
void expect_oracle(const Metadata& ours, const fs::path& oracle, const std::vector<std::string>& extra) {
  const GgufFile file = read_gguf(oracle.string());
  for (const auto& [key, value] : file.metadata) {
    if (!key.starts_with("tokenizer.")) continue;
    const MetaValue* produced = find(ours, key);
    if (produced == nullptr) {
      ADD_FAILURE() << key << " is missing";
      continue;
    }
    EXPECT_EQ(difference(*produced, value), "") << key;
  }
  for (const auto& [key, value] : ours) {
    if (find(file.metadata, key) == nullptr) {
      EXPECT_NE(std::ranges::find(extra, key), extra.end()) << key << " is not in the oracle";
    }
  }
}

// The elements of the array at `key`, as strings, integers or numbers; empty when there is none.
template <typename T>
std::vector<T> array_at(const Metadata& metadata, const std::string& key) {
  std::vector<T> items;
  const MetaValue* value = find(metadata, key);
  if (value == nullptr || value->as_array() == nullptr) return items;
  for (const MetaValue& item : *value->as_array()) {
    if constexpr (std::is_same_v<T, std::string>) {
      items.push_back(*item.as_string());
    } else if constexpr (std::is_same_v<T, int64_t>) {
      items.push_back(*item.as_int());
    } else {
      items.push_back(*item.as_float());
    }
  }
  return items;
}

// ------------------------------------------------------ protobuf fixtures

std::string varint(uint64_t value) {
  std::string bytes;
  for (; value >= 0x80; value >>= 7) bytes += static_cast<char>((value & 0x7f) | 0x80);
  return bytes + static_cast<char>(value);
}
std::string length_field(uint32_t number, const std::string& bytes) {
  return varint(number << 3 | 2) + varint(bytes.size()) + bytes;
}
std::string varint_field(uint32_t number, uint64_t value) { return varint(number << 3) + varint(value); }
std::string float_field(uint32_t number, float value) {
  std::string bytes(4, '\0');
  std::memcpy(bytes.data(), &value, 4);  // little-endian host, as the wire format
  return varint(number << 3 | 5) + bytes;
}
std::string piece(const std::string& text, float score, int type) {
  return length_field(1, length_field(1, text) + float_field(2, score) + varint_field(3, type));
}

// ------------------------------------------------------------- fixtures

// A fresh model directory per test, removed afterwards.
class HfTokenizer : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() / fmt::format("rs_hf_tokenizer_{}_{}", getpid(), test->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  void write(const std::string& name, const std::string& text) { write_file(dir_ / name, text); }

  // A byte-level BPE tokenizer.json of five tokens, with `extra` members appended to it.
  void write_bpe(const std::string& added_tokens = "[]", const std::string& merges = R"(["a b"])",
                 const std::string& pre_tokenizer = R"({"type": "ByteLevel", "add_prefix_space": false})") {
    write("tokenizer.json", fmt::format(R"({{"added_tokens": {}, "pre_tokenizer": {}, "post_processor": null,
      "model": {{"type": "BPE", "byte_fallback": false, "vocab": {{"a": 0, "b": 1, "ab": 2, "c": 3, "abc": 4}},
                 "merges": {}}}}})",
                                        added_tokens, pre_tokenizer, merges));
  }

  Metadata metadata() const { return hf_tokenizer_metadata(dir_); }

  std::string string_at(const std::string& key) const {
    const Metadata m = metadata();
    const MetaValue* value = find(m, key);
    return value != nullptr && value->as_string() != nullptr ? *value->as_string() : "<none>";
  }

  fs::path dir_;
};

// ---------------------------------------------------------------- oracles

TEST_F(HfTokenizer, SmolLm2MatchesLlamaCppConverter) {
  const fs::path oracle = kTokenizers / "smollm2-vocab.gguf";
  if (!shared_file_present(oracle)) GTEST_SKIP() << oracle << " is absent";
  fs::copy_file(kTokenizers / "smollm2-tokenizer.json", dir_ / "tokenizer.json");
  fs::copy_file(kTokenizers / "smollm2-config.json", dir_ / "config.json");
  // SmolLM2's published tokenizer_config.json names its unk token; config.json and tokenizer.json do not.
  write("tokenizer_config.json", R"({"bos_token": "<|im_start|>", "eos_token": "<|im_end|>",
                                     "unk_token": "<|endoftext|>", "pad_token": "<|im_end|>"})");
  // gguf-py also writes config.json's pad_token_id, which the oracle leaves out.
  expect_oracle(metadata(), oracle, {"tokenizer.ggml.padding_token_id"});
}

TEST_F(HfTokenizer, Llama2SentencePieceMatchesLlamaCppConverter) {
  const fs::path oracle = kTokenizers / "llama2-vocab.gguf";
  if (!shared_file_present(oracle)) GTEST_SKIP() << oracle << " is absent";
  fs::copy_file(kTokenizers / "llama2-tokenizer.model", dir_ / "tokenizer.model");
  // The converter writes "default" for every SentencePiece vocabulary; the oracle predates that.
  expect_oracle(metadata(), oracle, {"tokenizer.ggml.pre"});
}

// --------------------------------------------------------------- BPE

TEST_F(HfTokenizer, NoTokenizerFilesGiveNothing) {
  write("config.json", R"({"bos_token_id": 1})");
  EXPECT_TRUE(metadata().empty());
}

TEST_F(HfTokenizer, AddedTokensAreTypedAndGapsPadded) {
  write_bpe(R"([{"id": 5, "content": "<s>", "special": true},
                {"id": 6, "content": "hello\u2581world", "special": false},
                {"id": 7, "content": "<|im_start|>", "special": false},
                {"id": 9, "content": "</s>", "special": true}])");
  write("config.json", R"({"vocab_size": 11})");
  const Metadata m = metadata();
  EXPECT_EQ(array_at<std::string>(m, "tokenizer.ggml.tokens"),
            (std::vector<std::string>{"a", "b", "ab", "c", "abc", "<s>", "hello world", "<|im_start|>", "[PAD8]",
                                      "</s>", "[PAD10]"}));
  EXPECT_EQ(array_at<int64_t>(m, "tokenizer.ggml.token_type"),
            (std::vector<int64_t>{1, 1, 1, 1, 1, 3, 4, 3, 5, 3, 5}));
  EXPECT_EQ(find(m, "tokenizer.ggml.token_type")->element_type, MetaType::i32);
  EXPECT_EQ(string_at("tokenizer.ggml.model"), "gpt2");
  EXPECT_EQ(string_at("tokenizer.ggml.pre"), "gpt-2");
}

TEST_F(HfTokenizer, MergePairsJoinWithSpacesEncoded) {
  write_bpe("[]", R"([["a", "b"], ["a b", "c"]])");
  const Metadata m = metadata();
  const MetaArray& merges = *find(m, "tokenizer.ggml.merges")->as_array();
  ASSERT_EQ(merges.size(), 2u);
  EXPECT_EQ(*merges[0].as_string(), "a b");
  EXPECT_EQ(*merges[1].as_string(), "a\u0120b c");
}

TEST_F(HfTokenizer, SpecialTokensFromStringsObjectsAndConfig) {
  write_bpe(R"([{"id": 5, "content": "<s>", "special": true}, {"id": 6, "content": "</s>", "special": true}])");
  write("tokenizer_config.json", R"({"bos_token": "<s>", "eos_token": {"content": "</s>", "lstrip": false},
                                     "add_bos_token": true, "add_eos_token": false})");
  write("config.json", R"({"bos_token_id": 3, "pad_token_id": 4, "vocab_size": 7})");
  const Metadata m = metadata();
  EXPECT_EQ(find(m, "tokenizer.ggml.bos_token_id")->as_uint(), 5u);  // tokenizer_config.json wins
  EXPECT_EQ(find(m, "tokenizer.ggml.bos_token_id")->type, MetaType::u32);
  EXPECT_EQ(find(m, "tokenizer.ggml.eos_token_id")->as_uint(), 6u);
  EXPECT_EQ(find(m, "tokenizer.ggml.padding_token_id")->as_uint(), 4u);
  EXPECT_EQ(find(m, "tokenizer.ggml.add_bos_token")->as_bool(), true);
  EXPECT_EQ(find(m, "tokenizer.ggml.add_eos_token")->as_bool(), false);
}

TEST_F(HfTokenizer, ChatTemplateAsString) {
  write_bpe();
  write("tokenizer_config.json", R"({"chat_template": "{% for m in messages %}{{ m.content }}{% endfor %}"})");
  EXPECT_EQ(string_at("tokenizer.chat_template"), "{% for m in messages %}{{ m.content }}{% endfor %}");
}

TEST_F(HfTokenizer, ChatTemplateListPicksDefaultAndNamesTheRest) {
  write_bpe();
  write("tokenizer_config.json", R"({"chat_template": [{"name": "tool use\u00e9", "template": "T"},
                                                       {"name": "default", "template": "D"}]})");
  const Metadata m = metadata();
  EXPECT_EQ(string_at("tokenizer.chat_template"), "D");
  EXPECT_EQ(string_at("tokenizer.chat_template.tool_use_"), "T");
  ASSERT_NE(find(m, "tokenizer.chat_templates"), nullptr);
  EXPECT_EQ(*find(m, "tokenizer.chat_templates")->as_array()->at(0).as_string(), "tool_use_");
}

TEST_F(HfTokenizer, TemplatePostProcessorAddsBos) {
  write("tokenizer.json", R"({"added_tokens": [{"id": 2, "content": "<s>", "special": true}],
    "post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}},
                                                                {"Sequence": {"id": "A", "type_id": 0}}]},
    "model": {"type": "BPE", "vocab": {"a": 0, "b": 1}, "merges": []}})");
  EXPECT_EQ(find(metadata(), "tokenizer.ggml.add_bos_token")->as_bool(), true);
}

TEST_F(HfTokenizer, PreTokenizersRecognisedByStructure) {
  const auto split = [](const std::string& pattern) {
    return fmt::format(R"({{"type": "Sequence", "pretokenizers": [
        {{"type": "Split", "pattern": {{"Regex": "{}"}}, "behavior": "Isolated", "invert": false}},
        {{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false}}]}})",
                       pattern);
  };
  const std::string head = R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|)";
  const std::string tail = R"(| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+)";
  write_bpe("[]", "[]", split(head + R"(\\p{N}{1,3})" + tail));
  EXPECT_EQ(string_at("tokenizer.ggml.pre"), "llama-bpe");
  write_bpe("[]", "[]", split(head + R"(\\p{N})" + tail));
  EXPECT_EQ(string_at("tokenizer.ggml.pre"), "qwen2");
  write_bpe("[]", "[]", R"({"type": "Whitespace"})");
  EXPECT_EQ(string_at("tokenizer.ggml.pre"), "default");
}

TEST_F(HfTokenizer, SafetensorsModelCarriesTheTokenizer) {
  const fixture::TinyModel tiny;
  write("config.json", fixture::json_object(fixture::tiny_config(tiny)));
  write("model.safetensors", fixture::safetensors_file(fixture::tiny_tensors(tiny)));
  write_bpe();
  const ModelDesc desc = read_safetensors_model(dir_.string());
  ASSERT_NE(find(desc.metadata, "tokenizer.ggml.tokens"), nullptr);
  EXPECT_EQ(find(desc.metadata, "tokenizer.ggml.tokens")->as_array()->size(), 10u);  // config.json's vocab_size
  EXPECT_EQ(*find(desc.metadata, "general.architecture")->as_string(), "llama");
}

// ------------------------------------------------------- SentencePiece

TEST_F(HfTokenizer, SentencePieceFromHandWrittenProto) {
  const std::string trainer_spec =
      length_field(2, varint_field(40, 0) + varint_field(41, 1) + varint_field(42, 2));
  write("tokenizer.model", piece("<unk>", 0, 2) + piece("<s>", 0, 3) + piece("</s>", 0, 3) +
                               piece("<0x0A>", 0, 6) + piece("\u2581a", -1.5f, 1) + piece("<x>", 0, 4) +
                               trainer_spec);
  write("added_tokens.json", R"({"<tool>": 6})");
  write("config.json", R"({"vocab_size": 8})");
  const Metadata m = metadata();
  EXPECT_EQ(string_at("tokenizer.ggml.model"), "llama");
  EXPECT_EQ(array_at<int64_t>(m, "tokenizer.ggml.token_type"), (std::vector<int64_t>{2, 3, 3, 6, 1, 1, 4, 5}));
  EXPECT_EQ(array_at<double>(m, "tokenizer.ggml.scores"),
            (std::vector<double>{0, 0, 0, 0, -1.5, 0, -1000, -10000}));
  EXPECT_EQ(*find(m, "tokenizer.ggml.tokens")->as_array()->at(7).as_string(), "[PAD7]");
  EXPECT_EQ(find(m, "tokenizer.ggml.bos_token_id")->as_uint(), 1u);
  EXPECT_EQ(find(m, "tokenizer.ggml.add_bos_token")->as_bool(), true);
}

TEST_F(HfTokenizer, SentencePieceTakesAddFlagsFromTokenizerConfig) {
  write("tokenizer.model", piece("<unk>", 0, 2) + piece("<s>", 0, 3) + piece("</s>", 0, 3));
  write("tokenizer_config.json", R"({"add_bos_token": false, "add_eos_token": true})");
  const Metadata m = metadata();
  EXPECT_EQ(find(m, "tokenizer.ggml.add_bos_token")->as_bool(), false);
  EXPECT_EQ(find(m, "tokenizer.ggml.add_eos_token")->as_bool(), true);
  EXPECT_EQ(find(m, "tokenizer.ggml.eos_token_id")->as_uint(), 2u);  // the proto's default trainer spec
}

// ------------------------------------------------------------ malformed

void expect_model_error(const fs::path& dir, const std::string& fragment) {
  try {
    hf_tokenizer_metadata(dir);
    ADD_FAILURE() << "no ModelError; expected one mentioning " << fragment;
  } catch (const ModelError& error) {
    EXPECT_NE(std::string(error.what()).find(fragment), std::string::npos) << error.what();
  }
}

TEST_F(HfTokenizer, MalformedJsonNamesTheFile) {
  write("tokenizer.json", R"({"model": {"type": "BPE", "vocab": {"a": 0}, )");
  expect_model_error(dir_, "tokenizer.json: not valid JSON");
  write_bpe(R"([{"id": -1, "content": "x"}])");
  expect_model_error(dir_, "tokenizer.json: added_tokens[0]");
  write_bpe("[]", R"([["a", 1]])");
  expect_model_error(dir_, "tokenizer.json: model.merges[0]");
  write_bpe();
  write("tokenizer_config.json", R"({"chat_template": )");
  expect_model_error(dir_, "tokenizer_config.json: not valid JSON");
  fs::remove(dir_ / "tokenizer_config.json");
  write("config.json", R"({"vocab_size": 3})");
  expect_model_error(dir_, "tokenizer.json: model.vocab: id 3 is not below the vocabulary size 3");
}

// Found by the HF tokenizer fuzz target: a vocab_size of millions over a handful of tokens made millions of pad
// tokens (seconds and gigabytes) before anything else was checked.
TEST_F(HfTokenizer, PaddingPastTheTokensFoundIsRefused) {
  write_bpe();
  write("config.json", R"({"vocab_size": 5844444})");
  expect_model_error(dir_, "config.json: vocab_size: 5844444 would pad the 5 tokens found with 5844439 more");
  write("config.json", R"({"vocab_size": 65541})");  // 5 found, 65536 pads: as far as a small vocabulary goes
  EXPECT_EQ(find(metadata(), "tokenizer.ggml.tokens")->as_array()->size(), 65541u);
  fs::remove(dir_ / "tokenizer.json");
  write("tokenizer.model", piece("<unk>", 0, 2) + piece("<s>", 0, 3) + piece("</s>", 0, 3));
  write("config.json", R"({"vocab_size": 1000000})");
  expect_model_error(dir_, "config.json: vocab_size: 1000000 would pad the 3 tokens found");
}

TEST_F(HfTokenizer, TruncatedProtobufNamesTheFile) {
  const std::string first = piece("<unk>", 0, 2);
  const std::string model = first + piece("<s>", 0, 3);
  for (size_t cut = 1; cut < model.size(); ++cut) {
    if (cut == first.size()) continue;  // a whole one-piece model
    write("tokenizer.model", model.substr(0, cut));
    expect_model_error(dir_, "tokenizer.model: ");
  }
  write("tokenizer.model", length_field(1, varint_field(3, 9)));
  expect_model_error(dir_, "type 9 is not a SentencePiece type");
}

}  // namespace
}  // namespace rs::model
