// Hugging Face safetensors models: fixtures are written by the tests into a
// temporary directory, then read back through read_safetensors_model.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>

#include "core/model/hf_config.h"
#include "core/model/model_error.h"
#include "core/model/safetensors_reader.h"
#include "tests/model/safetensors_fixture.h"

namespace rs::model {
namespace {

namespace fs = std::filesystem;
using namespace fixture;

// A fresh directory per test, named like a model, removed afterwards.
class SafetensorsModel : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
    root_ = fs::temp_directory_path() / fmt::format("rs_safetensors_{}_{}", getpid(), test->name());
    dir_ = root_ / "tiny-model";
    fs::remove_all(root_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(root_); }

  void write_config(const JsonFields& config) { write_file(dir_ / "config.json", json_object(config)); }

  void write_single(const JsonFields& config, const std::vector<FixtureTensor>& tensors) {
    write_config(config);
    write_file(dir_ / "model.safetensors", safetensors_file(tensors));
  }

  // Tensors [0, split) into the first shard, the rest into the second.
  void write_two_shards(const JsonFields& config, const std::vector<FixtureTensor>& tensors, size_t split) {
    write_config(config);
    const std::vector<FixtureTensor> first(tensors.begin(), tensors.begin() + split);
    const std::vector<FixtureTensor> second(tensors.begin() + split, tensors.end());
    write_file(dir_ / kShard1, safetensors_file(first));
    write_file(dir_ / kShard2, safetensors_file(second));
    JsonFields weight_map;
    for (const FixtureTensor& t : first) weight_map[t.name] = fmt::format(R"("{}")", kShard1);
    for (const FixtureTensor& t : second) weight_map[t.name] = fmt::format(R"("{}")", kShard2);
    write_index(weight_map);
  }

  void write_index(const JsonFields& weight_map) {
    write_file(dir_ / "model.safetensors.index.json",
               json_object({{"metadata", R"({"total_size": 0})"}, {"weight_map", json_object(weight_map)}}));
  }

  // The ModelError message read_safetensors_model throws for the directory.
  std::string model_error() {
    try {
      read_safetensors_model(dir_.string());
    } catch (const ModelError& e) {
      return e.what();
    }
    return "no error";
  }

  static constexpr const char* kShard1 = "model-00001-of-00002.safetensors";
  static constexpr const char* kShard2 = "model-00002-of-00002.safetensors";
  fs::path root_;
  fs::path dir_;
};

// Every written tensor sits in the ModelDesc under its GGUF name, in ggml
// shape order, with the very bytes written at its absolute offset.
void expect_tensors_as_written(const ModelDesc& desc, const std::vector<FixtureTensor>& written,
                               const std::map<std::string, std::string>& gguf_names) {
  ASSERT_EQ(desc.tensors.size(), gguf_names.size());
  for (const auto& [hf_name, gguf_name] : gguf_names) {
    SCOPED_TRACE(hf_name);
    const FixtureTensor& fixture = find_fixture(written, hf_name);
    const TensorInfo* t = desc.tensor(gguf_name);
    ASSERT_NE(t, nullptr);
    const std::vector<uint64_t> ggml_shape(fixture.shape.rbegin(), fixture.shape.rend());
    EXPECT_EQ(t->shape, ggml_shape);
    const TensorType type = fixture.dtype == "F32"   ? TensorType::f32
                            : fixture.dtype == "F16" ? TensorType::f16
                                                     : TensorType::bf16;
    EXPECT_EQ(t->type, type);
    EXPECT_EQ(t->bytes, fixture.bytes.size());
    ASSERT_LT(t->file, desc.files.size());
    EXPECT_EQ(read_range(desc.files[t->file], t->offset, t->bytes), fixture.bytes);
  }
}

// The Hugging Face → GGUF names of the tiny model, spelled out.
std::map<std::string, std::string> tiny_gguf_names(const TinyModel& model) {
  std::map<std::string, std::string> names = {{"model.embed_tokens.weight", "token_embd.weight"},
                                              {"model.norm.weight", "output_norm.weight"}};
  if (model.lm_head) names["lm_head.weight"] = "output.weight";
  for (int layer = 0; layer < 2; ++layer) {
    const std::string hf = fmt::format("model.layers.{}.", layer);
    const std::string gguf = fmt::format("blk.{}.", layer);
    names[hf + "input_layernorm.weight"] = gguf + "attn_norm.weight";
    names[hf + "self_attn.q_proj.weight"] = gguf + "attn_q.weight";
    names[hf + "self_attn.k_proj.weight"] = gguf + "attn_k.weight";
    names[hf + "self_attn.v_proj.weight"] = gguf + "attn_v.weight";
    names[hf + "self_attn.o_proj.weight"] = gguf + "attn_output.weight";
    if (model.biases) {
      names[hf + "self_attn.q_proj.bias"] = gguf + "attn_q.bias";
      names[hf + "self_attn.k_proj.bias"] = gguf + "attn_k.bias";
      names[hf + "self_attn.v_proj.bias"] = gguf + "attn_v.bias";
    }
    names[hf + "post_attention_layernorm.weight"] = gguf + "ffn_norm.weight";
    names[hf + "mlp.gate_proj.weight"] = gguf + "ffn_gate.weight";
    names[hf + "mlp.up_proj.weight"] = gguf + "ffn_up.weight";
    names[hf + "mlp.down_proj.weight"] = gguf + "ffn_down.weight";
  }
  return names;
}

// ------------------------------------------------------------- whole models

TEST_F(SafetensorsModel, TinyLlamaSingleFile) {
  const TinyModel model;
  const std::vector<FixtureTensor> tensors = tiny_tensors(model);
  write_single(tiny_config(model), tensors);

  const ModelDesc desc = read_safetensors_model(dir_.string());
  EXPECT_EQ(desc.architecture, "llama");
  EXPECT_EQ(desc.name, "tiny-model");
  EXPECT_EQ(desc.vocab_size, 10u);
  EXPECT_EQ(desc.embedding_dim, 8u);
  EXPECT_EQ(desc.n_layers, 2u);
  EXPECT_EQ(desc.n_heads, 2u);
  EXPECT_EQ(desc.n_kv_heads, 1u);
  EXPECT_EQ(desc.head_dim, 4u);
  EXPECT_EQ(desc.ffn_dim, 16u);
  EXPECT_EQ(desc.context_length, 64u);
  EXPECT_EQ(desc.rope_layout, RopeLayout::adjacent_pairs);
  EXPECT_EQ(desc.rope_freq_base, 10000.0f);
  EXPECT_EQ(desc.rope_scaling, RopeScaling::none);
  EXPECT_FLOAT_EQ(desc.norm_eps, 1e-6f);
  EXPECT_FALSE(desc.tied_embeddings);
  EXPECT_FALSE(desc.qkv_bias);
  EXPECT_EQ(desc.files, std::vector<std::string>{(dir_ / "model.safetensors").string()});
  ASSERT_EQ(desc.metadata.size(), 2u);
  EXPECT_EQ(*find(desc.metadata, "general.architecture")->as_string(), "llama");
  EXPECT_EQ(*find(desc.metadata, "general.name")->as_string(), "tiny-model");
  expect_tensors_as_written(desc, tensors, tiny_gguf_names(model));

  for (const TensorInfo& t : desc.tensors) {
    SCOPED_TRACE(t.name);
    const uint32_t heads = t.name.ends_with("attn_q.weight") ? 2 : t.name.ends_with("attn_k.weight") ? 1 : 0;
    EXPECT_EQ(t.rope_permute_heads, heads);
  }
  EXPECT_EQ(desc.tensors.front().name, "token_embd.weight");  // GGUF order
  EXPECT_EQ(desc.tensors.back().name, "output.weight");
}

TEST_F(SafetensorsModel, TwoShardsWithIndex) {
  const TinyModel model;
  const std::vector<FixtureTensor> tensors = tiny_tensors(model);
  write_two_shards(tiny_config(model), tensors, 7);

  const ModelDesc desc = read_safetensors_model(dir_.string() + "/");
  EXPECT_EQ(desc.name, "tiny-model");
  EXPECT_EQ(desc.files, (std::vector<std::string>{(dir_ / kShard1).string(), (dir_ / kShard2).string()}));
  expect_tensors_as_written(desc, tensors, tiny_gguf_names(model));
  EXPECT_EQ(desc.tensor("token_embd.weight")->file, 0u);
  EXPECT_EQ(desc.tensor("output.weight")->file, 1u);
}

TEST_F(SafetensorsModel, PathToTheSafetensorsFile) {
  const TinyModel model;
  write_single(tiny_config(model), tiny_tensors(model));
  const ModelDesc desc = read_safetensors_model((dir_ / "model.safetensors").string());
  EXPECT_EQ(desc.name, "tiny-model");
  EXPECT_EQ(desc.tensors.size(), tiny_gguf_names(model).size());
}

TEST_F(SafetensorsModel, MistralPermutesLikeLlama) {
  const TinyModel model{.architecture = "MistralForCausalLM"};
  const std::vector<FixtureTensor> tensors = tiny_tensors(model);
  write_single(tiny_config(model), tensors);

  const ModelDesc desc = read_safetensors_model(dir_.string());
  EXPECT_EQ(desc.architecture, "mistral");
  EXPECT_EQ(desc.rope_layout, RopeLayout::adjacent_pairs);
  EXPECT_EQ(desc.tensor("blk.1.attn_q.weight")->rope_permute_heads, 2u);
  EXPECT_EQ(desc.tensor("blk.1.attn_k.weight")->rope_permute_heads, 1u);
  expect_tensors_as_written(desc, tensors, tiny_gguf_names(model));
}

TEST_F(SafetensorsModel, Qwen2WithBiasesAndTiedEmbeddings) {
  const TinyModel model{.architecture = "Qwen2ForCausalLM", .biases = true, .lm_head = false};
  const std::vector<FixtureTensor> tensors = tiny_tensors(model);
  JsonFields config = tiny_config(model);
  config["rope_theta"] = "1000000.0";
  write_single(config, tensors);

  const ModelDesc desc = read_safetensors_model(dir_.string());
  EXPECT_EQ(desc.architecture, "qwen2");
  EXPECT_EQ(desc.rope_layout, RopeLayout::halves);
  EXPECT_EQ(desc.rope_freq_base, 1e6f);
  EXPECT_TRUE(desc.qkv_bias);
  EXPECT_TRUE(desc.tied_embeddings);
  EXPECT_EQ(desc.tensor("output.weight"), nullptr);
  expect_tensors_as_written(desc, tensors, tiny_gguf_names(model));
  for (const TensorInfo& t : desc.tensors) EXPECT_EQ(t.rope_permute_heads, 0u) << t.name;
}

TEST_F(SafetensorsModel, LmHeadPresentMeansNotTied) {
  const TinyModel model;
  JsonFields config = tiny_config(model);
  config["tie_word_embeddings"] = "true";
  write_single(config, tiny_tensors(model));
  const ModelDesc desc = read_safetensors_model(dir_.string());
  EXPECT_FALSE(desc.tied_embeddings);
  EXPECT_NE(desc.tensor("output.weight"), nullptr);
}

TEST_F(SafetensorsModel, RotaryBufferIsIgnored) {
  const TinyModel model;
  std::vector<FixtureTensor> tensors = tiny_tensors(model);
  tensors.push_back(make_tensor("model.layers.0.self_attn.rotary_emb.inv_freq", "F32", {2}));
  write_single(tiny_config(model), tensors);
  EXPECT_EQ(read_safetensors_model(dir_.string()).tensors.size(), tiny_gguf_names(model).size());
}


TEST_F(SafetensorsModel, RopePermutationMatchesLlamaCppConverter) {
  const TinyModel model;
  const std::vector<FixtureTensor> tensors = tiny_tensors(model);
  write_single(tiny_config(model), tensors);
  const ModelDesc desc = read_safetensors_model(dir_.string());

  struct Projection {
    std::string hf_name;
    std::string gguf_name;
    uint64_t heads;
  };
  for (const Projection& p :
       {Projection{"model.layers.1.self_attn.q_proj.weight", "blk.1.attn_q.weight", 2},
        Projection{"model.layers.1.self_attn.k_proj.weight", "blk.1.attn_k.weight", 1}}) {
    SCOPED_TRACE(p.hf_name);
    const FixtureTensor& fixture = find_fixture(tensors, p.hf_name);
    const uint64_t rows = fixture.shape[0];
    const uint64_t row_bytes = fixture.bytes.size() / rows;
    std::string expected;
    for (const uint64_t row : llama_cpp_row_order(rows, p.heads)) {
      expected += fixture.bytes.substr(row * row_bytes, row_bytes);
    }

    const TensorInfo& t = *desc.tensor(p.gguf_name);
    ASSERT_EQ(t.rows(), rows);
    std::string loaded;  // as the loader copies rows
    for (uint64_t row = 0; row < t.rows(); ++row) {
      const uint64_t source = rope_permuted_source_row(row, t.rows(), t.rope_permute_heads);
      loaded += read_range(desc.files[t.file], t.offset + source * row_bytes, row_bytes);
    }
    EXPECT_EQ(loaded, expected);
    EXPECT_NE(loaded, fixture.bytes);
  }
}

// ---------------------------------------------------------- model errors

TEST_F(SafetensorsModel, MissingConfigKey) {
  JsonFields config = tiny_config({});
  config.erase("num_attention_heads");
  write_single(config, tiny_tensors({}));
  EXPECT_EQ(model_error(), R"(config.json: "num_attention_heads" is missing)");
}

TEST_F(SafetensorsModel, UnknownArchitecture) {
  write_single(tiny_config({.architecture = "GemmaForCausalLM"}), tiny_tensors({}));
  EXPECT_TRUE(model_error().starts_with(R"(config.json: architecture "GemmaForCausalLM" is not supported)"))
      << model_error();
}

TEST_F(SafetensorsModel, UnknownTensorName) {
  std::vector<FixtureTensor> tensors = tiny_tensors({});
  tensors.push_back(make_tensor("model.layers.0.mlp.experts.weight", "F32", {2}));
  write_single(tiny_config({}), tensors);
  EXPECT_EQ(model_error(), R"(model.safetensors: tensor "model.layers.0.mlp.experts.weight" is unknown)");
}

TEST_F(SafetensorsModel, LayerBeyondTheConfig) {
  std::vector<FixtureTensor> tensors = tiny_tensors({});
  tensors.push_back(make_tensor("model.layers.2.mlp.up_proj.weight", "F32", {16, 8}));
  write_single(tiny_config({}), tensors);
  EXPECT_EQ(
      model_error(),
      R"(model.safetensors: tensor "model.layers.2.mlp.up_proj.weight" is not part of a 2-layer llama model)");
}

// Billions of layers over a small file: their expected tensor names were made before any was missed, for minutes
// (the input is a seed of the HF config fuzz target).
TEST_F(SafetensorsModel, LayersBeyondTheTensorsAreRefusedFirst) {
  JsonFields config = tiny_config({});
  config["num_hidden_layers"] = "4000000000";
  write_single(config, tiny_tensors({}));
  EXPECT_EQ(model_error(),
            R"(config.json: "num_hidden_layers" is 4000000000, but model.safetensors holds only 21 tensors)");
}

TEST_F(SafetensorsModel, MissingLayerTensor) {
  write_single(tiny_config({}), without(tiny_tensors({}), "model.layers.1.mlp.down_proj.weight"));
  EXPECT_EQ(model_error(), R"(model.safetensors: tensor "model.layers.1.mlp.down_proj.weight" is missing)");
}

TEST_F(SafetensorsModel, MissingLmHeadWhenNotTied) {
  write_single(tiny_config({}), without(tiny_tensors({}), "lm_head.weight"));
  EXPECT_EQ(model_error(), R"(model.safetensors: tensor "lm_head.weight" is missing)");
}

TEST_F(SafetensorsModel, MissingBiasInQwen2) {
  const TinyModel model{.architecture = "Qwen2ForCausalLM", .biases = true};
  write_single(tiny_config(model), without(tiny_tensors(model), "model.layers.0.self_attn.v_proj.bias"));
  EXPECT_EQ(model_error(), R"(model.safetensors: tensor "model.layers.0.self_attn.v_proj.bias" is missing)");
}

TEST_F(SafetensorsModel, MisShapedTensor) {
  std::vector<FixtureTensor> tensors = tiny_tensors({});
  std::ranges::replace_if(
      tensors, [](const FixtureTensor& t) { return t.name == "model.layers.0.self_attn.k_proj.weight"; },
      make_tensor("model.layers.0.self_attn.k_proj.weight", "F32", {8, 8}));
  write_two_shards(tiny_config({}), tensors, 3);
  EXPECT_EQ(model_error(),
            fmt::format(R"({}: tensor "model.layers.0.self_attn.k_proj.weight" has shape [8, 8], )"
                        "expected [4, 8]",
                        kShard2));
}

TEST_F(SafetensorsModel, ShardNameLeavingTheDirectory) {
  write_two_shards(tiny_config({}), tiny_tensors({}), 7);
  write_index({{"model.embed_tokens.weight", R"("../model-00001-of-00002.safetensors")"}});
  const std::string error = model_error();
  EXPECT_TRUE(error.starts_with("model.safetensors.index.json: weight_map shard ")) << error;
  EXPECT_NE(error.find("../model-00001-of-00002.safetensors"), std::string::npos) << error;
  EXPECT_NE(error.find("not a plain file name"), std::string::npos) << error;
}

TEST_F(SafetensorsModel, MissingShardFile) {
  write_two_shards(tiny_config({}), tiny_tensors({}), 7);
  fs::remove(dir_ / kShard2);
  EXPECT_EQ(model_error(),
            fmt::format(R"(model.safetensors.index.json: weight_map shard "{}" does not exist)", kShard2));
}

TEST_F(SafetensorsModel, IndexDisagreeingWithTheShards) {
  const std::vector<FixtureTensor> tensors = tiny_tensors({});
  write_two_shards(tiny_config({}), tensors, 7);
  JsonFields weight_map;
  for (size_t i = 0; i < tensors.size(); ++i) {
    weight_map[tensors[i].name] = fmt::format(R"("{}")", i < 7 ? kShard1 : kShard2);
  }
  weight_map["model.embed_tokens.weight"] = fmt::format(R"("{}")", kShard2);
  write_index(weight_map);
  EXPECT_EQ(model_error(),
            fmt::format(R"({}: tensor "model.embed_tokens.weight" is not listed for this file in )"
                        "model.safetensors.index.json",
                        kShard1));

  weight_map["model.embed_tokens.weight"] = fmt::format(R"("{}")", kShard1);
  weight_map["model.extra.weight"] = fmt::format(R"("{}")", kShard2);
  write_index(weight_map);
  EXPECT_EQ(model_error(),
            fmt::format(R"(model.safetensors.index.json: tensor "model.extra.weight" is listed in )"
                        R"("{}" but not there)",
                        kShard2));
}

TEST_F(SafetensorsModel, HeaderErrorNamesTheShard) {
  std::vector<FixtureTensor> tensors = tiny_tensors({});
  tensors.back().dtype = "I64";
  write_two_shards(tiny_config({}), tensors, 7);
  EXPECT_EQ(
      model_error(),
      fmt::format(R"({}: tensor "lm_head.weight": dtype "I64" is not supported (F32, F16 and BF16 are))",
                  kShard2));
}

TEST_F(SafetensorsModel, NoSafetensorsInTheDirectory) {
  write_config(tiny_config({}));
  EXPECT_NE(model_error().find("holds neither model.safetensors nor model.safetensors.index.json"),
            std::string::npos);
}

// ------------------------------------------------------------ header only

// The message parse_safetensors_header throws for `file`, named as a shard.
std::string header_error(const std::string& file) {
  try {
    parse_safetensors_header({reinterpret_cast<const uint8_t*>(file.data()), file.size()},
                             "model-00002-of-00004.safetensors");
  } catch (const ModelError& e) {
    return e.what();
  }
  return "no error";
}

// One tensor entry written as given, followed by `data_bytes` bytes of data.
std::string one_tensor_file(const std::string& entry, size_t data_bytes = 64) {
  return safetensors_file(fmt::format(R"({{"model.layers.3.mlp.up_proj.weight": {}}})", entry),
                          std::string(data_bytes, '\0'));
}

constexpr const char* kTensorPrefix =
    R"(model-00002-of-00004.safetensors: tensor "model.layers.3.mlp.up_proj.weight": )";

TEST(SafetensorsHeader, ParsesTensorsSortedByOffset) {
  const std::string header = R"({"b": {"dtype": "BF16", "shape": [3], "data_offsets": [16, 22]},)"
                             R"( "__metadata__": {"format": "pt"},)"
                             R"( "a": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]},)"
                             R"( "e": {"dtype": "F16", "shape": [0, 5], "data_offsets": [22, 22]}}    )";
  const std::string file = safetensors_file(header, std::string(22, '\0'));
  const SafetensorsHeader parsed =
      parse_safetensors_header({reinterpret_cast<const uint8_t*>(file.data()), file.size()}, "x.safetensors");
  EXPECT_EQ(parsed.data_start, 8 + header.size());
  ASSERT_EQ(parsed.tensors.size(), 3u);
  EXPECT_EQ(parsed.tensors[0].name, "a");
  EXPECT_EQ(parsed.tensors[0].type, TensorType::f32);
  EXPECT_EQ(parsed.tensors[0].shape, (std::vector<uint64_t>{2, 2}));
  EXPECT_EQ(parsed.tensors[1].name, "b");
  EXPECT_EQ(parsed.tensors[1].type, TensorType::bf16);
  EXPECT_EQ(parsed.tensors[1].begin, 16u);
  EXPECT_EQ(parsed.tensors[1].end, 22u);
  EXPECT_EQ(parsed.tensors[2].type, TensorType::f16);
}

TEST(SafetensorsHeader, FileTooShortForTheLength) {
  EXPECT_EQ(header_error("abc"),
            "model-00002-of-00004.safetensors: 3 bytes is too short for the 8-byte header length");
}

TEST(SafetensorsHeader, HeaderLengthBeyondTheFile) {
  std::string file = safetensors_file("{}", "");
  file[0] = 100;
  EXPECT_EQ(header_error(file),
            "model-00002-of-00004.safetensors: header length 100 runs past the end of the file (2 bytes "
            "follow it)");
  file[7] = '\x80';  // would overflow 8 + length
  EXPECT_NE(header_error(file).find("runs past the end of the file"), std::string::npos);
}

TEST(SafetensorsHeader, TruncatedJson) {
  EXPECT_TRUE(header_error(safetensors_file(R"({"a": {"dtype": "F32", "sha)", ""))
                  .starts_with("model-00002-of-00004.safetensors: header is not a JSON object"));
  EXPECT_TRUE(header_error(safetensors_file("[1, 2]", ""))
                  .starts_with("model-00002-of-00004.safetensors: header is not a JSON object"));
}

TEST(SafetensorsHeader, UnsupportedDtype) {
  EXPECT_EQ(header_error(one_tensor_file(R"({"dtype": "I64", "shape": [2], "data_offsets": [0, 16]})")),
            std::string(kTensorPrefix) + R"(dtype "I64" is not supported (F32, F16 and BF16 are))");
}

TEST(SafetensorsHeader, ReversedOffsets) {
  EXPECT_EQ(header_error(one_tensor_file(R"({"dtype": "F32", "shape": [2], "data_offsets": [100, 90]})")),
            std::string(kTensorPrefix) + "data_offsets [100, 90] are reversed");
}

TEST(SafetensorsHeader, OffsetsPastTheData) {
  EXPECT_EQ(header_error(one_tensor_file(R"({"dtype": "F32", "shape": [4], "data_offsets": [56, 72]})")),
            std::string(kTensorPrefix) + "data_offsets [56, 72] end past the data section's 64 bytes");
}

TEST(SafetensorsHeader, SizeNotMatchingTheShape) {
  EXPECT_EQ(header_error(one_tensor_file(R"({"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 12]})")),
            std::string(kTensorPrefix) + "data_offsets [0, 12] hold 12 bytes, but F32 [2, 2] needs 16");
}

TEST(SafetensorsHeader, BadShapes) {
  const std::string prefix = kTensorPrefix;
  EXPECT_EQ(header_error(one_tensor_file(R"({"dtype": "F32", "shape": [-1, 2], "data_offsets": [0, 8]})")),
            prefix + R"("shape" is missing or not a list of non-negative integers)");
  EXPECT_EQ(header_error(one_tensor_file(R"({"dtype": "F32", "shape": [2.5], "data_offsets": [0, 8]})")),
            prefix + R"("shape" is missing or not a list of non-negative integers)");
  EXPECT_EQ(header_error(one_tensor_file(
                R"({"dtype": "F16", "shape": [4294967296, 4294967296], "data_offsets": [0, 8]})")),
            prefix + "shape [4294967296, 4294967296] is too large");
  EXPECT_EQ(header_error(one_tensor_file(R"({"dtype": "F16", "data_offsets": [0, 8]})")),
            prefix + R"("shape" is missing or not a list of non-negative integers)");
  EXPECT_EQ(header_error(one_tensor_file(R"({"dtype": "F16", "shape": [4], "data_offsets": [0]})")),
            prefix + R"("data_offsets" is missing or not [begin, end] of non-negative integers)");
}

TEST(SafetensorsHeader, OverlappingTensors) {
  const std::string header = R"({"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]},)"
                             R"( "b": {"dtype": "F32", "shape": [4], "data_offsets": [8, 24]}})";
  EXPECT_EQ(header_error(safetensors_file(header, std::string(24, '\0'))),
            R"(model-00002-of-00004.safetensors: tensors "a" [0, 16] and "b" [8, 24] overlap)");
}

TEST(SafetensorsHeader, DuplicateTensor) {
  const std::string header = R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},)"
                             R"( "a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}})";
  EXPECT_EQ(header_error(safetensors_file(header, std::string(8, '\0'))),
            R"(model-00002-of-00004.safetensors: header lists "a" twice)");
}

TEST(SafetensorsHeader, ErrorsStayOnOneLine) {
  const std::string header = R"({"a\nb": {"dtype": "Q\n", "shape": [1], "data_offsets": [0, 4]}})";
  const std::string error = header_error(safetensors_file(header, std::string(4, '\0')));
  EXPECT_EQ(error.find('\n'), std::string::npos) << error;
  EXPECT_NE(error.find(R"(tensor "a\nb": dtype "Q\n")"), std::string::npos) << error;
}

// ---------------------------------------------------------------- config.json

std::string config_error(const JsonFields& config) {
  try {
    parse_hf_config(json_object(config), "config.json");
  } catch (const ModelError& e) {
    return e.what();
  }
  return "no error";
}

TEST(HfConfig, Defaults) {
  JsonFields config = tiny_config({});
  config.erase("num_key_value_heads");
  config.erase("tie_word_embeddings");
  config["rope_scaling"] = "null";
  const ModelDesc desc = parse_hf_config(json_object(config), "config.json");
  EXPECT_EQ(desc.n_kv_heads, 2u);
  EXPECT_EQ(desc.head_dim, 4u);
  EXPECT_EQ(desc.rope_freq_base, 10000.0f);
  EXPECT_FALSE(desc.tied_embeddings);
  EXPECT_EQ(desc.rope_scaling, RopeScaling::none);
}

TEST(HfConfig, ExplicitHeadDim) {
  JsonFields config = tiny_config({});
  config["head_dim"] = "16";
  config["rope_theta"] = "500000.0";
  const ModelDesc desc = parse_hf_config(json_object(config), "config.json");
  EXPECT_EQ(desc.head_dim, 16u);
  EXPECT_EQ(desc.rope_freq_base, 500000.0f);
}

TEST(HfConfig, RopeScalingLinear) {
  JsonFields config = tiny_config({});
  config["rope_scaling"] = R"({"type": "linear", "factor": 4.0})";
  const ModelDesc desc = parse_hf_config(json_object(config), "config.json");
  EXPECT_EQ(desc.rope_scaling, RopeScaling::linear);
  EXPECT_EQ(desc.rope_scale_factor, 4.0f);
}

TEST(HfConfig, RopeScalingLlama3) {
  JsonFields config = tiny_config({});
  config["rope_scaling"] = R"({"factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,)"
                           R"( "original_max_position_embeddings": 8192, "rope_type": "llama3"})";
  const ModelDesc desc = parse_hf_config(json_object(config), "config.json");
  EXPECT_EQ(desc.rope_scaling, RopeScaling::llama3);
  EXPECT_EQ(desc.rope_scale_factor, 8.0f);
  EXPECT_EQ(desc.rope_low_freq_factor, 1.0f);
  EXPECT_EQ(desc.rope_high_freq_factor, 4.0f);
  EXPECT_EQ(desc.rope_original_context, 8192u);
}

TEST(HfConfig, Errors) {
  JsonFields config = tiny_config({});
  config["rope_scaling"] = R"({"rope_type": "yarn", "factor": 4.0})";
  EXPECT_EQ(config_error(config),
            R"(config.json: rope_scaling type "yarn" is not supported (linear and llama3 are))");
  config["rope_scaling"] = R"({"rope_type": "llama3", "factor": 8.0})";
  EXPECT_EQ(config_error(config), R"(config.json: "rope_scaling.low_freq_factor" is missing)");

  config = tiny_config({.architecture = "GPT2LMHeadModel"});
  EXPECT_EQ(config_error(config),
            "config.json: architecture \"GPT2LMHeadModel\" is not supported "
            "(LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM are)");
  config = tiny_config({});
  config["hidden_size"] = R"("8")";
  EXPECT_EQ(config_error(config), R"(config.json: "hidden_size" must be a positive 32-bit integer, not "8")");
  config = tiny_config({});
  config["num_key_value_heads"] = "3";
  EXPECT_EQ(config_error(config),
            "config.json: num_attention_heads 2 is not a multiple of num_key_value_heads 3");
  config = tiny_config({});
  config["architectures"] = "[]";
  EXPECT_EQ(config_error(config),
            R"(config.json: "architectures" must be a non-empty list of strings, not [])");
  EXPECT_EQ(config_error({}), R"(config.json: "architectures" is missing)");
}

}  // namespace
}  // namespace rs::model
