// Tokenizers read straight from Hugging Face files (read_vocab on a model
// directory) tokenize as the GGUF vocabularies made from the same files:
// SmolLM2's tokenizer.json (byte-level BPE) and Llama 2's tokenizer.model
// (SentencePiece), on the edge-case strings of tokenizer_edge_cases.json and
// a text of some hundred KB.
#include <gtest/gtest.h>
#include <simdjson.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/tokenizer/tokenizer.h"
#include "core/tokenizer/vocab.h"
#include "tests/support/ci.h"
#include "tests/tokenizer/llama_cpp_vectors.h"

namespace rs::tokenizer {
namespace {

namespace fs = std::filesystem;
using vectors::kShared;
using vectors::shared_vocab;

// A model directory of its own, removed at the end of the test.
class TempModelDir {
 public:
  TempModelDir() {
    static int counter = 0;
    path_ = fs::temp_directory_path() / ("rs_hf_vocab_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempModelDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  TempModelDir(const TempModelDir&) = delete;
  TempModelDir& operator=(const TempModelDir&) = delete;

  void copy(const std::string& shared_file, const std::string& name) const {
    fs::copy_file(kShared + shared_file, path_ / name);
  }
  void write(const std::string& name, const std::string& content) const {
    std::ofstream(path_ / name, std::ios::binary) << content;
  }
  std::string path() const { return path_.string(); }

 private:
  fs::path path_;
};

// Whether the files under ../shared are there (a failure under CI when not).
bool have_shared(const std::vector<std::string>& files) {
  for (const std::string& file : files) {
    if (fs::exists(kShared + file)) continue;
    if (test::under_ci()) ADD_FAILURE() << kShared << file << " is missing under CI";
    return false;
  }
  return true;
}

// The distinct texts of tokenizer_edge_cases.json's cases (of every vocabulary).
std::vector<std::string> edge_case_texts() {
  simdjson::dom::parser parser;
  const simdjson::dom::element root = parser.load(RINGSERVE_SOURCE_DIR "/tests/data/tokenizer_edge_cases.json");
  std::set<std::string> texts;
  for (const simdjson::dom::element c : root["cases"].get_array()) texts.emplace(std::string_view(c["text"]));
  return {texts.begin(), texts.end()};
}

// About 300 KB of mixed text: prose, code, numbers, whitespace runs, other scripts, emoji, special-token strings.
std::string long_text() {
  const std::vector<std::string> lines = {
      "The quick brown fox jumps over the lazy dog; naïve café, résumé.\n",
      "def tokenize(text):\n    return [ord(c) for c in text]  # 4 spaces, then a comment\n",
      "Numbers: 0, 7, 42, 1234567890, 3.14159, -2.5e-10, 1,000,000.\n",
      "   leading spaces\t\ttabs  and   runs    of     spaces\n\n\n",
      "日本語のテキスト。中文测试，你好！한국어 텍스트. Привет, мир! مرحبا नमस्ते\n",
      "Emoji 🦙🙂🎉 👍🏽 👨‍👩‍👧‍👦 🇯🇵 and combining cafe\u0301 Z\u0351\u0352\n",
      "<|im_start|>user\nHello<|im_end|>\n<s>[INST] hi [/INST]</s> <|endoftext|>\n",
  };
  std::string text;
  for (size_t i = 0; text.size() < 300'000; ++i) text += lines[(i * 7 + i / 3) % lines.size()] + std::to_string(i) + " ";
  return text;
}

// Same ids from both tokenizers, with and without special-token parsing, with and without BOS/EOS.
void expect_same_ids(const Tokenizer& from_hf, const Tokenizer& from_gguf) {
  std::vector<std::string> texts = edge_case_texts();
  ASSERT_GT(texts.size(), 200u);
  texts.push_back(long_text());
  size_t differing = 0;
  for (const std::string& text : texts) {
    for (const bool add_special : {false, true}) {
      for (const bool parse_special : {false, true}) {
        const std::vector<TokenId> ids = from_gguf.encode(text, add_special, parse_special);
        const bool same = from_hf.encode(text, add_special, parse_special) == ids;
        EXPECT_TRUE(same) << "add_special " << add_special << ", parse_special " << parse_special << ": "
                          << testing::PrintToString(text.substr(0, 200));
        differing += !same;
        if (!same) continue;
        EXPECT_EQ(from_hf.decode(ids), from_gguf.decode(ids));
      }
    }
  }
  EXPECT_EQ(differing, 0u);
}

// The vocabulary itself, entry by entry.
void expect_same_vocab(const Vocab& hf, const Vocab& gguf) {
  EXPECT_EQ(hf.model, gguf.model);
  EXPECT_EQ(hf.pre.empty() ? "default" : hf.pre, gguf.pre.empty() ? "default" : gguf.pre);
  ASSERT_EQ(hf.size(), gguf.size());
  EXPECT_TRUE(hf.tokens == gguf.tokens);
  EXPECT_TRUE(hf.types == gguf.types);
  EXPECT_TRUE(hf.scores == gguf.scores);
  EXPECT_TRUE(hf.merges == gguf.merges);
  EXPECT_EQ(hf.bos, gguf.bos);
  EXPECT_EQ(hf.eos, gguf.eos);
  EXPECT_EQ(hf.add_bos, gguf.add_bos);
  EXPECT_EQ(hf.add_eos, gguf.add_eos);
  EXPECT_EQ(hf.add_space_prefix, gguf.add_space_prefix);
  EXPECT_EQ(hf.chat_template, gguf.chat_template);
}

TEST(HfVocab, SmolLm2TokenizerJsonMatchesItsGguf) {
  std::optional<Vocab> gguf = shared_vocab("tokenizers/smollm2-vocab.gguf");
  if (!gguf || !have_shared({"tokenizers/smollm2-tokenizer.json", "tokenizers/smollm2-config.json"})) {
    GTEST_SKIP() << "SmolLM2's files are not under ../shared/tokenizers";
  }
  const TempModelDir dir;
  dir.copy("tokenizers/smollm2-tokenizer.json", "tokenizer.json");
  dir.copy("tokenizers/smollm2-config.json", "config.json");  // its bos_token_id and eos_token_id
  Vocab hf = read_vocab(dir.path());
  expect_same_vocab(hf, *gguf);
  EXPECT_EQ(hf.bos, 1);  // <|im_start|>
  EXPECT_EQ(hf.eos, 2);  // <|im_end|>
  EXPECT_TRUE(hf.chat_template.empty());  // neither has one: it lives in tokenizer_config.json
  expect_same_ids(Tokenizer(std::move(hf)), Tokenizer(std::move(*gguf)));
}

// With a tokenizer_config.json (written here, SmolLM2's special tokens and a template of our own):
// its tokens name the ids as the GGUF has them, and its chat_template arrives.
TEST(HfVocab, TokenizerConfigGivesSpecialTokensAndChatTemplate) {
  std::optional<Vocab> gguf = shared_vocab("tokenizers/smollm2-vocab.gguf");
  if (!gguf || !have_shared({"tokenizers/smollm2-tokenizer.json"})) {
    GTEST_SKIP() << "SmolLM2's files are not under ../shared/tokenizers";
  }
  const std::string chat_template =
      "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + "
      "'<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";
  std::string escaped;  // as a JSON string
  for (const char c : chat_template) escaped += c == '\n' ? std::string("\\n") : std::string(1, c);
  const TempModelDir dir;
  dir.copy("tokenizers/smollm2-tokenizer.json", "tokenizer.json");
  dir.write("tokenizer_config.json", R"({"bos_token": "<|im_start|>", "eos_token": "<|im_end|>", )"
                                     R"("unk_token": "<|endoftext|>", "add_bos_token": false, "chat_template": ")" +
                                         escaped + "\"}");
  const Vocab hf = read_vocab(dir.path());
  EXPECT_EQ(hf.bos, gguf->bos);
  EXPECT_EQ(hf.eos, gguf->eos);
  EXPECT_EQ(hf.unk, gguf->unk);
  EXPECT_FALSE(hf.add_bos);
  EXPECT_EQ(hf.chat_template, chat_template);
}

TEST(HfVocab, Llama2TokenizerModelMatchesItsGguf) {
  std::optional<Vocab> gguf = shared_vocab("tokenizers/llama2-vocab.gguf");
  if (!gguf || !have_shared({"tokenizers/llama2-tokenizer.model"})) {
    GTEST_SKIP() << "Llama 2's files are not under ../shared/tokenizers";
  }
  const TempModelDir dir;
  dir.copy("tokenizers/llama2-tokenizer.model", "tokenizer.model");
  Vocab hf = read_vocab(dir.path());
  expect_same_vocab(hf, *gguf);
  EXPECT_EQ(hf.bos, 1);  // <s>
  EXPECT_EQ(hf.eos, 2);  // </s>
  EXPECT_EQ(hf.unk, gguf->unk);
  EXPECT_TRUE(hf.add_bos);
  expect_same_ids(Tokenizer(std::move(hf)), Tokenizer(std::move(*gguf)));
}

}  // namespace
}  // namespace rs::tokenizer
