// `synth --arch bert`: random-weight BERT encoders as llama.cpp's converter lays them out.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>

#include "core/model/gguf_describe.h"
#include "core/model/gguf_reader.h"
#include "core/model/model_error.h"
#include "core/model/quantize.h"
#include "core/model/synth.h"
#include "tests/support/ci.h"

namespace rs::model {
namespace {

namespace fs = std::filesystem;

const std::string kBgeVocab = RINGSERVE_SOURCE_DIR "/../shared/tokenizers/ggml-vocab/ggml-vocab-bert-bge.gguf";

std::string temp_path(const std::string& name) {
  return (fs::temp_directory_path() / ("ringserve-synth-encoder-test-" + std::to_string(::getpid()) + "-" + name))
      .string();
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

SynthOptions bert_options(const std::string& name, TensorType type, uint64_t seed) {
  return {.architecture = SynthArchitecture::bert, .preset = "tiny", .type = type, .seed = seed, .vocab_from = "",
          .output = temp_path(name)};
}

std::string synth(SynthOptions options) {
  synth_model(options);
  return options.output;
}

std::vector<float> tensor_values(const std::string& path, const TensorInfo& t) {
  const std::string bytes = slurp(path).substr(t.offset, t.bytes);
  std::vector<float> values(t.elements());
  dequantize_row(t.type, bytes.data(), values.data(), values.size());
  return values;
}

TEST(SynthEncoder, SameArgumentsSameBytesAndSeedsDiffer) {
  const std::string a = synth(bert_options("a.gguf", TensorType::q8_0, 7));
  const std::string b = synth(bert_options("b.gguf", TensorType::q8_0, 7));
  const std::string c = synth(bert_options("c.gguf", TensorType::q8_0, 8));
  EXPECT_EQ(slurp(a), slurp(b));
  EXPECT_NE(slurp(a), slurp(c));
}

TEST(SynthEncoder, TinyIsACompleteBertModelOfThePresetShapes) {
  for (const TensorType type : {TensorType::f32, TensorType::f16, TensorType::q8_0}) {
    const std::string path = synth(bert_options("types.gguf", type, 1));
    const EncoderDesc d = describe_encoder_gguf(read_gguf(path), path);
    EXPECT_EQ(d.architecture, "bert");
    EXPECT_EQ(d.embedding_dim, 64u);
    EXPECT_EQ(d.n_layers, 2u);
    EXPECT_EQ(d.n_heads, 4u);
    EXPECT_EQ(d.head_dim, 16u);
    EXPECT_EQ(d.ffn_dim, 128u);
    EXPECT_EQ(d.context_length, 128u);
    EXPECT_EQ(d.token_types, 2u);
    EXPECT_EQ(d.pooling, Pooling::mean);
    EXPECT_FLOAT_EQ(d.norm_eps, 1e-12f);
    EXPECT_EQ(d.vocab_size, uint32_t(find(wordpiece_vocabulary(), "tokenizer.ggml.tokens")->as_array()->size()));
    for (const TensorInfo& t : d.tensors) {
      const bool float_matrix = t.name == "position_embd.weight" || t.name == "token_types.weight";
      EXPECT_EQ(t.type, t.shape.size() == 1 || float_matrix ? TensorType::f32 : type) << t.name;
      const std::vector<float> values = tensor_values(path, t);
      // Matrices uniform in ± sqrt(3 / fan-in), norm weights in 1 ± 0.25, biases in ± 0.1.
      const bool norm_weight = t.name.ends_with("norm.weight");
      const float center = norm_weight ? 1.0f : 0.0f;
      const float spread = t.shape.size() == 2 ? std::sqrt(3.0f / float(t.shape[0])) : norm_weight ? 0.25f : 0.1f;
      float lo = center, hi = center;
      for (const float v : values) {
        lo = std::min(lo, v);
        hi = std::max(hi, v);
      }
      EXPECT_GE(lo, center - spread * 1.01f) << t.name;
      EXPECT_LE(hi, center + spread * 1.01f) << t.name;
      EXPECT_LT(lo, center - spread / 2) << t.name;  // spread over the range, not constant
      EXPECT_GT(hi, center + spread / 2) << t.name;
    }
  }
}

TEST(SynthEncoder, PoolingComesFromThePresetOrTheOptions) {
  SynthOptions options = bert_options("pooling.gguf", TensorType::f32, 1);
  options.pooling = Pooling::cls;
  const std::string path = synth(options);
  EXPECT_EQ(describe_encoder_gguf(read_gguf(path), path).pooling, Pooling::cls);
  EXPECT_EQ(encoder_synth_preset("bge-small")->pooling, Pooling::cls);
  EXPECT_EQ(encoder_synth_preset("minilm")->pooling, Pooling::mean);
}

TEST(SynthEncoder, PresetsHaveTheReferenceModelsShapes) {
  EXPECT_FALSE(encoder_synth_preset("1b").has_value());
  const EncoderSynthShape bge = *encoder_synth_preset("bge-small");  // BAAI/bge-small-en-v1.5
  EXPECT_EQ(bge.embedding_dim, 384u);
  EXPECT_EQ(bge.n_layers, 12u);
  EXPECT_EQ(bge.n_heads, 12u);
  EXPECT_EQ(bge.ffn_dim, 1536u);
  EXPECT_EQ(bge.context_length, 512u);
  const EncoderSynthShape minilm = *encoder_synth_preset("minilm");  // sentence-transformers/all-MiniLM-L6-v2
  EXPECT_EQ(minilm.n_layers, 6u);
  EXPECT_EQ(minilm.embedding_dim, 384u);
  EXPECT_EQ(encoder_synth_preset("bge-base")->embedding_dim, 768u);
}

TEST(SynthEncoder, WordPieceVocabularyIsLaidOutAsLlamaCppReadsIt) {
  const Metadata vocab = wordpiece_vocabulary();
  EXPECT_EQ(*find(vocab, "tokenizer.ggml.model")->as_string(), "bert");
  const MetaArray& tokens = *find(vocab, "tokenizer.ggml.tokens")->as_array();
  const MetaArray& types = *find(vocab, "tokenizer.ggml.token_type")->as_array();
  ASSERT_EQ(tokens.size(), types.size());
  EXPECT_GT(tokens.size(), 3000u);
  const std::vector<std::string> specials{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
  for (size_t i = 0; i < specials.size(); ++i) {
    EXPECT_EQ(*tokens[i].as_string(), specials[i]);
    EXPECT_EQ(types[i].as_int(), 3) << specials[i];  // control
  }
  EXPECT_EQ(find(vocab, "tokenizer.ggml.padding_token_id")->as_uint(), 0u);
  EXPECT_EQ(find(vocab, "tokenizer.ggml.unknown_token_id")->as_uint(), 1u);
  EXPECT_EQ(find(vocab, "tokenizer.ggml.cls_token_id")->as_uint(), 2u);
  EXPECT_EQ(find(vocab, "tokenizer.ggml.bos_token_id")->as_uint(), 2u);  // what llama.cpp prepends
  EXPECT_EQ(find(vocab, "tokenizer.ggml.seperator_token_id")->as_uint(), 3u);
  EXPECT_EQ(find(vocab, "tokenizer.ggml.mask_token_id")->as_uint(), 4u);
  EXPECT_EQ(find(vocab, "tokenizer.ggml.token_type_count")->as_uint(), 2u);

  // llama.cpp maps text to id and asserts that no two tokens are the same.
  std::set<std::string> seen;
  for (size_t i = 0; i < tokens.size(); ++i) {
    EXPECT_TRUE(seen.insert(*tokens[i].as_string()).second) << *tokens[i].as_string();
    if (i >= specials.size()) {
      EXPECT_EQ(types[i].as_int(), 1) << *tokens[i].as_string();
    }
  }
  // Every printable ASCII character starts and continues a word.
  for (char c = '!'; c <= '~'; ++c) {
    EXPECT_TRUE(seen.contains(std::string(1, c))) << c;
    EXPECT_TRUE(seen.contains("\u2581" + std::string(1, c))) << c;
  }
  EXPECT_TRUE(seen.contains("\u2581qz"));
  EXPECT_TRUE(seen.contains("qz"));
}

TEST(SynthEncoder, VocabFromCopiesABertTokenizer) {
  if (!fs::exists(kBgeVocab)) RS_SKIP_UNLESS_CI(kBgeVocab + " not found (../shared is absent in a plain clone)");
  SynthOptions options = bert_options("vocab.gguf", TensorType::f16, 1);
  options.vocab_from = kBgeVocab;
  const std::string path = synth(options);
  const GgufFile gguf = read_gguf(path);
  const EncoderDesc d = describe_encoder_gguf(gguf, path);
  EXPECT_EQ(d.vocab_size, 30522u);
  EXPECT_EQ(d.tensor("token_embd.weight")->shape, (std::vector<uint64_t>{64, 30522}));
  for (const auto& [key, value] : read_gguf(kBgeVocab).metadata) {
    if (!key.starts_with("tokenizer.")) continue;
    const MetaValue* copied = find(gguf.metadata, key);
    ASSERT_NE(copied, nullptr) << key;
    EXPECT_EQ(copied->type, value.type) << key;
  }
}

TEST(SynthEncoder, RefusesWhatABertModelCannotHave) {
  EXPECT_THROW(synth(bert_options("q4.gguf", TensorType::q4_0, 1)), std::invalid_argument);
  SynthOptions unknown = bert_options("unknown.gguf", TensorType::f32, 1);
  unknown.preset = "8b";
  EXPECT_THROW(synth(unknown), std::invalid_argument);
  SynthOptions llama{.vocab_from = "", .pooling = Pooling::mean, .output = temp_path("llama.gguf")};
  EXPECT_THROW(synth(llama), std::invalid_argument);

  const std::string llama_vocab = RINGSERVE_SOURCE_DIR "/../shared/tokenizers/llama2-vocab.gguf";
  if (!fs::exists(llama_vocab)) RS_SKIP_UNLESS_CI(llama_vocab + " not found (../shared is absent in a plain clone)");
  SynthOptions spm = bert_options("spm.gguf", TensorType::f32, 1);
  spm.vocab_from = llama_vocab;
  try {
    synth(spm);
    ADD_FAILURE() << "a SentencePiece vocabulary was taken for a bert model";
  } catch (const ModelError& e) {
    EXPECT_EQ(std::string(e.what()), llama_vocab + ": --vocab-from for a bert model needs a WordPiece vocabulary "
                                                   "(tokenizer.ggml.model \"bert\"), not \"llama\"");
  }
}

}  // namespace
}  // namespace rs::model
