#include "core/model/synth.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>

#include <unistd.h>

#include "core/model/gguf_describe.h"
#include "core/model/gguf_reader.h"
#include "core/model/quantize.h"
#include "tests/support/ci.h"

namespace rs::model {
namespace {

namespace fs = std::filesystem;

// The pid keeps tests that ctest runs in parallel, each its own process, out of each other's files.
std::string temp_path(const std::string& name) {
  return (fs::temp_directory_path() / ("ringserve-synth-test-" + std::to_string(::getpid()) + "-" + name)).string();
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

std::string synth(const std::string& name, TensorType type, uint64_t seed, std::string vocab_from = "") {
  SynthOptions options;
  options.preset = "tiny";
  options.type = type;
  options.seed = seed;
  options.vocab_from = std::move(vocab_from);
  options.output = temp_path(name);
  synth_model(options);
  return options.output;
}

std::vector<float> tensor_values(const std::string& path, const TensorInfo& t) {
  const std::string bytes = slurp(path).substr(t.offset, t.bytes);
  std::vector<float> values(t.elements());
  dequantize_row(t.type, bytes.data(), values.data(), values.size());
  return values;
}

TEST(Synth, SameArgumentsSameBytesAndSeedsDiffer) {
  const std::string a = synth("a.gguf", TensorType::q4_0, 7);
  const std::string b = synth("b.gguf", TensorType::q4_0, 7);
  const std::string c = synth("c.gguf", TensorType::q4_0, 8);
  EXPECT_EQ(slurp(a), slurp(b));
  EXPECT_NE(slurp(a), slurp(c));
}

TEST(Synth, TinyIsACompleteLlamaModelOfThePresetShapes) {
  for (const TensorType type : {TensorType::f32, TensorType::f16, TensorType::bf16, TensorType::q8_0,
                                TensorType::q4_0}) {
    const std::string path = synth("types.gguf", type, 1);
    const ModelDesc d = describe_gguf(read_gguf(path), path);
    EXPECT_EQ(d.architecture, "llama");
    EXPECT_EQ(d.embedding_dim, 64u);
    EXPECT_EQ(d.n_layers, 2u);
    EXPECT_EQ(d.n_heads, 4u);
    EXPECT_EQ(d.n_kv_heads, 2u);
    EXPECT_EQ(d.head_dim, 16u);
    EXPECT_EQ(d.ffn_dim, 192u);
    EXPECT_EQ(d.vocab_size, 260u);
    EXPECT_FALSE(d.tied_embeddings);
    EXPECT_EQ(d.tensors.size(), 3u + 9u * 2u);
    for (const TensorInfo& t : d.tensors) {
      const bool norm = t.name.find("norm") != std::string::npos;
      EXPECT_EQ(t.type, norm ? TensorType::f32 : type) << t.name;
      const std::vector<float> values = tensor_values(path, t);
      if (norm) {
        for (const float v : values) ASSERT_EQ(v, 1.0f) << t.name;
        continue;
      }
      const float bound = std::sqrt(3.0f / float(t.shape[0])) * 1.01f + 1e-6f;
      float lo = 0, hi = 0;
      for (const float v : values) {
        ASSERT_TRUE(std::isfinite(v)) << t.name;
        lo = std::min(lo, v);
        hi = std::max(hi, v);
      }
      EXPECT_GE(lo, -bound) << t.name;
      EXPECT_LE(hi, bound) << t.name;
      EXPECT_LT(lo, -bound / 2) << t.name;  // spread over the range, not constant
      EXPECT_GT(hi, bound / 2) << t.name;
    }
  }
}

TEST(Synth, ByteVocabularyHasControlAndByteTokens) {
  const Metadata vocab = byte_vocabulary();
  const MetaArray& tokens = *find(vocab, "tokenizer.ggml.tokens")->as_array();
  ASSERT_EQ(tokens.size(), 260u);
  EXPECT_EQ(*tokens[1].as_string(), "<s>");
  EXPECT_EQ(*tokens[3].as_string(), "\u2581");
  EXPECT_EQ(*tokens[4 + 0x41].as_string(), "<0x41>");
  EXPECT_EQ(find(vocab, "tokenizer.ggml.token_type")->as_array()->at(3).as_int(), 1);
  EXPECT_EQ(find(vocab, "tokenizer.ggml.token_type")->as_array()->at(259).as_int(), 6);
  EXPECT_EQ(find(vocab, "tokenizer.ggml.bos_token_id")->as_uint(), 1u);
}

TEST(Synth, VocabFromCopiesAnotherModelsTokenizer) {
  const std::string vocab = RINGSERVE_SOURCE_DIR "/../shared/tokenizers/llama2-vocab.gguf";
  if (!fs::exists(vocab)) RS_SKIP_UNLESS_CI(vocab + " not found (../shared is absent in a plain clone)");
  const std::string path = synth("vocab.gguf", TensorType::q8_0, 1, vocab);
  const GgufFile gguf = read_gguf(path);
  const ModelDesc d = describe_gguf(gguf, path);
  EXPECT_EQ(d.vocab_size, 32000u);
  EXPECT_EQ(d.tensor("token_embd.weight")->shape, (std::vector<uint64_t>{64, 32000}));
  const GgufFile source = read_gguf(vocab);
  for (const auto& [key, value] : source.metadata) {
    if (!key.starts_with("tokenizer.")) continue;
    const MetaValue* copied = find(gguf.metadata, key);
    ASSERT_NE(copied, nullptr) << key;
    EXPECT_EQ(copied->type, value.type) << key;
  }
}

TEST(Synth, PresetsHaveTheAdvertisedShapes) {
  EXPECT_FALSE(synth_preset("huge").has_value());
  const SynthShape b1 = *synth_preset("1b");  // Llama 3.2 1B
  EXPECT_EQ(b1.embedding_dim, 2048u);
  EXPECT_EQ(b1.n_layers, 16u);
  EXPECT_EQ(b1.ffn_dim, 8192u);
  const SynthShape b8 = *synth_preset("8b");  // Llama 3 8B
  EXPECT_EQ(b8.embedding_dim, 4096u);
  EXPECT_EQ(b8.n_layers, 32u);
  EXPECT_EQ(b8.n_kv_heads, 8u);
  EXPECT_EQ(b8.ffn_dim, 14336u);
}

}  // namespace
}  // namespace rs::model
