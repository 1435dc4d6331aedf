// Words too long for the tokenizers' short-word merging (arrays on the stack,
// up to 64 bytes) go through their merge queues: both ways must give
// llama.cpp's ids. The expected ids are llama.cpp's (llama_tokenize through
// node-llama-cpp 3.22.1, add_special = false, parse_special = false); the
// benchmark corpus (perf/tokenize-bench.sh) checks the short words.
#include <gtest/gtest.h>

#include <cctype>
#include <optional>
#include <string>
#include <vector>

#include "core/tokenizer/tokenizer.h"
#include "tests/tokenizer/llama_cpp_vectors.h"

namespace rs::tokenizer {
namespace {

using namespace vectors;

struct LongWords {
  std::string vocab;  // under ../shared/tokenizers
  std::vector<std::vector<TokenId>> ids;  // of each of long_texts()
};

std::ostream& operator<<(std::ostream& out, const LongWords& c) { return out << c.vocab; }

std::vector<std::string> long_texts() {
  std::string a_run(101, 'a');
  std::string accents;
  for (int i = 0; i < 12; ++i) accents += "\u00f1and\u00fa";
  std::string word;
  for (int i = 0; i < 3; ++i) word += "Pneumonoultramicroscopicsilicovolcanoconiosis";
  return {word, std::string(80, '-') + std::string(7, '='), std::string(100, ' ') + "x", accents, a_run};
}

std::vector<TokenId> repeat(std::vector<TokenId> once, int times, std::vector<TokenId> tail = {}) {
  std::vector<TokenId> ids;
  for (int i = 0; i < times; ++i) ids.insert(ids.end(), once.begin(), once.end());
  ids.insert(ids.end(), tail.begin(), tail.end());
  return ids;
}

std::vector<TokenId> join(std::vector<TokenId> head, const std::vector<TokenId>& rest) {
  head.insert(head.end(), rest.begin(), rest.end());
  return head;
}

class LongWordVectors : public testing::TestWithParam<LongWords> {};

TEST_P(LongWordVectors, MergeAsLlamaCpp) {
  const LongWords& c = GetParam();
  std::optional<Vocab> vocab = shared_vocab("tokenizers/" + c.vocab);
  if (!vocab) GTEST_SKIP() << c.vocab << " is not under ../shared/tokenizers";
  const Tokenizer tokenizer(std::move(*vocab));
  const std::vector<std::string> texts = long_texts();
  ASSERT_EQ(texts.size(), c.ids.size());
  for (size_t i = 0; i < texts.size(); ++i) {
    EXPECT_EQ(tokenizer.encode(texts[i], false), c.ids[i]) << c.vocab << " text " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Vocabularies, LongWordVectors,
    testing::Values(
        LongWords{"ggml-vocab/ggml-vocab-gpt-2.gguf",
                  {repeat({47, 25668, 261, 25955, 859, 2500, 1416, 404, 873, 41896, 709, 349, 5171, 36221, 42960}, 3),
                   {10097, 1783, 1421, 18604},
                   repeat({220}, 99, {2124}),
                   repeat({12654, 392, 21356}, 12),
                   repeat({24794}, 25, {64})}},
        LongWords{"llama3.2-vocab.gguf",
                  {repeat({47, 126261, 263, 11206, 99040, 2823, 2445, 454, 1233, 321, 292, 115766, 69377, 444,
                           91260},
                          3),
                   {44549, 54337},
                   {5351, 1961, 865},
                   repeat({5771, 438, 6792}, 12),
                   repeat({70540}, 12, {29558, 64})}},
        LongWords{"smollm2-vocab.gguf",
                  {repeat({64, 10304, 258, 12715, 814, 1936, 1513, 371, 747, 37502, 21369, 4055, 406, 16842, 2469}, 3),
                   {15069, 1688, 2031, 28733},
                   {40686, 12427, 333, 1792},
                   repeat({10214, 397, 16148}, 12),
                   repeat({46880}, 25, {81})}},
        LongWords{"llama2-vocab.gguf",
                  {{349,  29765, 265,   5059, 509, 314,  2357,  21785, 1199, 309,   293,   586, 324,  26004,
                    535,  2363,  275,   29925, 29765, 265, 5059, 509,   314,  2357, 21785, 1199, 309, 293,
                    586,  324,   26004, 535,  2363,  275, 29925, 29765, 265,  5059, 509,   314,  2357, 21785,
                    1199, 309,   293,   586,  324,   26004, 535,  2363,  275},
                   {448, 2683, 2683, 2683, 2683, 9072, 5634, 2751, 25512},
                   {462, 462, 462, 462, 462, 462, 268, 921},
                   join({29871}, repeat({30046, 392, 30030}, 12)),
                   join({263}, repeat({27137}, 25))}}),
    [](const testing::TestParamInfo<LongWords>& info) {
      std::string name = info.param.vocab.substr(info.param.vocab.rfind('/') + 1);
      name = name.substr(0, name.find(".gguf"));
      for (char& ch : name) ch = std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
      return name;
    });

}  // namespace
}  // namespace rs::tokenizer
