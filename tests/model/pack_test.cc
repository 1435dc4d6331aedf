#include "core/model/pack.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>

#include <unistd.h>

#include "core/model/gguf_describe.h"
#include "core/model/gguf_reader.h"
#include "core/model/quantize.h"
#include "core/model/synth.h"
#include "tests/model/safetensors_fixture.h"

namespace rs::model {
namespace {

namespace fs = std::filesystem;

// The pid keeps tests that ctest runs in parallel, each its own process, out of each other's files.
std::string temp_path(const std::string& name) {
  return (fs::temp_directory_path() / ("ringserve-pack-test-" + std::to_string(::getpid()) + "-" + name)).string();
}

std::string bytes_of(const std::string& path, const TensorInfo& t) {
  std::ifstream in(path, std::ios::binary);
  std::string bytes(t.bytes, '\0');
  in.seekg(std::streamoff(t.offset));
  in.read(bytes.data(), std::streamsize(bytes.size()));
  return bytes;
}

std::string synth_tiny(TensorType type) {
  SynthOptions options;
  options.type = type;
  options.seed = 3;
  options.output = temp_path(std::string("source-") + std::string(info(type).name) + ".gguf");
  synth_model(options);
  return options.output;
}

std::string pack(const std::string& input, std::optional<TensorType> type) {
  PackOptions options{input, temp_path("packed.gguf"), type};
  pack_model(options);
  return options.output;
}

TEST(Pack, KeepCopiesEveryTensorToPageAlignedOffsets) {
  const std::string source = synth_tiny(TensorType::q4_0);
  const std::string packed = pack(source, std::nullopt);
  const GgufFile in = read_gguf(source);
  const GgufFile out = read_gguf(packed);
  EXPECT_EQ(out.alignment, 4096u);
  ASSERT_EQ(out.tensors.size(), in.tensors.size());
  for (size_t i = 0; i < in.tensors.size(); ++i) {
    const TensorInfo& a = in.tensors[i];
    const TensorInfo& b = out.tensors[i];
    EXPECT_EQ(b.name, a.name);
    EXPECT_EQ(b.type, a.type);
    EXPECT_EQ(b.shape, a.shape);
    EXPECT_EQ(b.offset % 4096, 0u) << b.name;
    EXPECT_EQ(bytes_of(packed, b), bytes_of(source, a)) << b.name;
  }
  for (const auto& [key, value] : in.metadata) {
    const MetaValue* copied = find(out.metadata, key);
    ASSERT_NE(copied, nullptr) << key;
    EXPECT_EQ(copied->type, value.type) << key;
  }
  EXPECT_EQ(find(out.metadata, "general.alignment")->as_uint(), 4096u);
}

TEST(Pack, QuantizesMatricesAndKeepsNormsF32) {
  const std::string source = synth_tiny(TensorType::f32);
  const std::string packed = pack(source, TensorType::q8_0);
  const ModelDesc out = describe_gguf(read_gguf(packed), packed);
  const ModelDesc in = describe_gguf(read_gguf(source), source);
  EXPECT_EQ(find(out.metadata, "general.file_type")->as_uint(), 7u);  // llama.cpp's MOSTLY_Q8_0
  for (const TensorInfo& t : in.tensors) {
    const TensorInfo& p = *out.tensor(t.name);
    if (t.shape.size() == 1) {
      EXPECT_EQ(p.type, TensorType::f32) << t.name;
      EXPECT_EQ(bytes_of(packed, p), bytes_of(source, t)) << t.name;
      continue;
    }
    ASSERT_EQ(p.type, TensorType::q8_0) << t.name;
    const std::string floats = bytes_of(source, t);
    std::string expected(p.bytes, '\0');
    quantize_row(TensorType::q8_0, reinterpret_cast<const float*>(floats.data()), expected.data(), t.elements());
    EXPECT_EQ(bytes_of(packed, p), expected) << t.name;
  }
}

TEST(Pack, MissingInputIsAClearError) {
  try {
    pack(temp_path("does-not-exist.gguf"), std::nullopt);
    FAIL() << "no error";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("does-not-exist.gguf"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace rs::model

namespace rs::model {
namespace {

using namespace fixture;


class PackSafetensors : public ::testing::Test {
 protected:
  // Writes the tiny model with finite F32 values; returns its tensors.
  std::vector<FixtureTensor> write_model(const TinyModel& model) {
    dir_ = fs::temp_directory_path() / ("ringserve-pack-st-" + std::to_string(::getpid()) + "-" + model.architecture);
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    std::vector<FixtureTensor> tensors;
    for (const FixtureTensor& t : tiny_tensors(model)) tensors.push_back(finite_f32(t));
    write_file(dir_ / "config.json", json_object(tiny_config(model)));
    write_file(dir_ / "model.safetensors", safetensors_file(tensors));
    return tensors;
  }
  void TearDown() override { fs::remove_all(dir_); }

  // The values of HF tensor `name`, rows reordered by `order` (empty: as stored).
  static std::string rows_in_order(const FixtureTensor& t, const std::vector<uint64_t>& order) {
    if (order.empty()) return t.bytes;
    const uint64_t row_bytes = t.bytes.size() / order.size();
    std::string out;
    for (const uint64_t row : order) out += t.bytes.substr(row * row_bytes, row_bytes);
    return out;
  }

  fs::path dir_;
};

TEST_F(PackSafetensors, LlamaQkRowsAndBiasesArePermutedLikeLlamaCpp) {
  TinyModel model;
  model.biases = true;
  const auto tensors = write_model(model);
  const std::string packed = (dir_ / "packed.gguf").string();
  pack_model({dir_.string(), packed, std::nullopt});
  const ModelDesc d = describe_gguf(read_gguf(packed), packed);
  EXPECT_EQ(d.architecture, "llama");
  EXPECT_EQ(d.rope_layout, RopeLayout::adjacent_pairs);
  EXPECT_EQ(d.n_kv_heads, 1u);
  const struct {
    const char* hf;
    const char* gguf;
    std::vector<uint64_t> order;
  } cases[] = {
      {"model.layers.1.self_attn.q_proj.weight", "blk.1.attn_q.weight", llama_cpp_row_order(8, 2)},
      {"model.layers.1.self_attn.k_proj.weight", "blk.1.attn_k.weight", llama_cpp_row_order(4, 1)},
      {"model.layers.1.self_attn.q_proj.bias", "blk.1.attn_q.bias", llama_cpp_row_order(8, 2)},
      {"model.layers.1.self_attn.k_proj.bias", "blk.1.attn_k.bias", llama_cpp_row_order(4, 1)},
      {"model.layers.1.self_attn.v_proj.weight", "blk.1.attn_v.weight", {}},
      {"model.layers.0.mlp.down_proj.weight", "blk.0.ffn_down.weight", {}},
      {"model.norm.weight", "output_norm.weight", {}},
  };
  for (const auto& c : cases) {
    const TensorInfo& t = *d.tensor(c.gguf);
    EXPECT_EQ(t.type, TensorType::f32) << c.gguf;
    EXPECT_EQ(bytes_of(packed, t), rows_in_order(find_fixture(tensors, c.hf), c.order)) << c.gguf;
  }
}

TEST_F(PackSafetensors, Qwen2KeepsRowOrderAndHalvesRope) {
  TinyModel model;
  model.architecture = "Qwen2ForCausalLM";
  model.biases = true;
  const auto tensors = write_model(model);
  const std::string packed = (dir_ / "packed.gguf").string();
  pack_model({dir_.string(), packed, TensorType::q8_0});
  const ModelDesc d = describe_gguf(read_gguf(packed), packed);
  EXPECT_EQ(d.architecture, "qwen2");
  EXPECT_EQ(d.rope_layout, RopeLayout::halves);
  EXPECT_TRUE(d.qkv_bias);
  // Rows of 8 values are not whole q8_0 blocks: matrices fall back to f16.
  EXPECT_EQ(d.tensor("blk.0.attn_q.weight")->type, TensorType::f16);
  EXPECT_EQ(bytes_of(packed, *d.tensor("blk.0.attn_q.bias")),
            find_fixture(tensors, "model.layers.0.self_attn.q_proj.bias").bytes);
}

}  // namespace
}  // namespace rs::model

namespace rs::model {
namespace {

using namespace fixture;

TEST_F(PackSafetensors, CarriesTheTokenizerAndChatTemplate) {
  write_model(TinyModel{});  // vocabulary of 10: 8 byte-level pieces and 2 special tokens
  write_file(dir_ / "tokenizer.json", R"({
    "added_tokens": [{"id": 8, "content": "<|im_start|>", "special": true},
                     {"id": 9, "content": "<|im_end|>", "special": true}],
    "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true},
    "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "c": 2, "ab": 3, "abc": 4, "\u0120": 5, "\u0120a": 6, "d": 7},
              "merges": ["a b", "ab c", "\u0120 a"]}})");
  const std::string chat_template = "{% for m in messages %}<|im_start|>{{ m.content }}<|im_end|>{% endfor %}";
  write_file(dir_ / "tokenizer_config.json",
             R"({"bos_token": "<|im_start|>", "eos_token": "<|im_end|>", "chat_template": ")" +
                 chat_template + R"("})");
  const std::string packed = (dir_ / "packed.gguf").string();
  pack_model({dir_.string(), packed, std::nullopt});
  const GgufFile out = read_gguf(packed);
  EXPECT_EQ(*find(out.metadata, "tokenizer.ggml.model")->as_string(), "gpt2");
  EXPECT_EQ(*find(out.metadata, "tokenizer.ggml.pre")->as_string(), "gpt-2");
  const MetaArray& tokens = *find(out.metadata, "tokenizer.ggml.tokens")->as_array();
  ASSERT_EQ(tokens.size(), 10u);
  EXPECT_EQ(*tokens[4].as_string(), "abc");
  EXPECT_EQ(*tokens[9].as_string(), "<|im_end|>");
  EXPECT_EQ(find(out.metadata, "tokenizer.ggml.token_type")->as_array()->at(8).as_int(), 3);  // control
  EXPECT_EQ(find(out.metadata, "tokenizer.ggml.merges")->as_array()->size(), 3u);
  EXPECT_EQ(find(out.metadata, "tokenizer.ggml.bos_token_id")->as_uint(), 8u);
  EXPECT_EQ(find(out.metadata, "tokenizer.ggml.eos_token_id")->as_uint(), 9u);
  EXPECT_EQ(*find(out.metadata, "tokenizer.chat_template")->as_string(), chat_template);
  EXPECT_EQ(describe_gguf(out, packed).vocab_size, 10u);
}

}  // namespace
}  // namespace rs::model
