// describe_encoder_gguf: a BERT-family GGUF's parameters, checked against its tensor table.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>

#include "core/model/encoder_desc.h"
#include "core/model/gguf_describe.h"
#include "core/model/gguf_reader.h"
#include "tests/support/ci.h"
#include "tests/support/meta_values.h"

namespace rs::model {
namespace {

using rs::test::array_of;
using rs::test::flag;
using rs::test::f32;
using rs::test::text;
using rs::test::u32;

const std::string kFile = "/models/bge.gguf";

// A two-layer encoder small enough to spell out: embedding 8, 2 heads of 4, ffn 16, 32 positions, vocab 10.
GgufFile tiny_bert() {
  GgufFile gguf;
  gguf.metadata = {{"general.architecture", text("bert")},
                   {"bert.context_length", u32(32)},
                   {"bert.embedding_length", u32(8)},
                   {"bert.feed_forward_length", u32(16)},
                   {"bert.block_count", u32(2)},
                   {"bert.attention.head_count", u32(2)},
                   {"bert.attention.layer_norm_epsilon", f32(1e-12)},
                   {"bert.attention.causal", flag(false)},
                   {"bert.pooling_type", u32(2)},
                   {"tokenizer.ggml.model", text("bert")},
                   {"tokenizer.ggml.tokens", array_of(MetaType::string, MetaArray(10, text("t")))},
                   {"tokenizer.ggml.token_type_count", u32(2)}};
  const auto add = [&](std::string name, std::vector<uint64_t> shape) {
    gguf.tensors.push_back({.name = std::move(name), .shape = std::move(shape)});
  };
  add("token_embd.weight", {8, 10});
  add("position_embd.weight", {8, 32});
  add("token_types.weight", {8, 2});
  add("token_embd_norm.weight", {8});
  add("token_embd_norm.bias", {8});
  for (int b = 0; b < 2; ++b) {
    const auto blk = [&](std::string_view part) { return fmt::format("blk.{}.{}", b, part); };
    for (const std::string_view attention : {"attn_q", "attn_k", "attn_v", "attn_output"}) {
      add(blk(fmt::format("{}.weight", attention)), {8, 8});
      add(blk(fmt::format("{}.bias", attention)), {8});
    }
    add(blk("attn_output_norm.weight"), {8});
    add(blk("attn_output_norm.bias"), {8});
    add(blk("ffn_up.weight"), {8, 16});
    add(blk("ffn_up.bias"), {16});
    add(blk("ffn_down.weight"), {16, 8});
    add(blk("ffn_down.bias"), {8});
    add(blk("layer_output_norm.weight"), {8});
    add(blk("layer_output_norm.bias"), {8});
  }
  return gguf;
}

std::string error_of(const std::function<void()>& describe) {
  try {
    describe();
  } catch (const ModelError& e) {
    return e.what();
  }
  return "no error";
}

std::string describe_encoder_error(const GgufFile& gguf) {
  return error_of([&] { describe_encoder_gguf(gguf, kFile); });
}

GgufFile with(const std::string& key, std::optional<MetaValue> value) {
  GgufFile gguf = tiny_bert();
  std::erase_if(gguf.metadata, [&](const auto& kv) { return kv.first == key; });
  if (value) gguf.metadata.emplace_back(key, *value);
  return gguf;
}

TEST(EncoderDescribe, ReadsABertModel) {
  const EncoderDesc desc = describe_encoder_gguf(tiny_bert(), kFile);
  EXPECT_EQ(desc.architecture, "bert");
  EXPECT_EQ(desc.name, "bge");
  EXPECT_EQ(desc.files, std::vector<std::string>{kFile});
  EXPECT_EQ(desc.vocab_size, 10u);
  EXPECT_EQ(desc.embedding_dim, 8u);
  EXPECT_EQ(desc.n_layers, 2u);
  EXPECT_EQ(desc.n_heads, 2u);
  EXPECT_EQ(desc.head_dim, 4u);
  EXPECT_EQ(desc.ffn_dim, 16u);
  EXPECT_EQ(desc.context_length, 32u);
  EXPECT_EQ(desc.token_types, 2u);
  EXPECT_FLOAT_EQ(desc.norm_eps, 1e-12f);
  EXPECT_EQ(desc.pooling, Pooling::cls);
  EXPECT_EQ(desc.tensors.size(), 5u + 16u * 2u);
  EXPECT_EQ(describe_encoder_gguf(with("bert.pooling_type", u32(1)), kFile).pooling, Pooling::mean);
  // Without the key, BERT's own bidirectional attention.
  EXPECT_EQ(describe_encoder_gguf(with("bert.attention.causal", std::nullopt), kFile).n_layers, 2u);
}

TEST(EncoderDescribe, RefusesPoolingsThatGiveNoSentenceVector) {
  const std::string key = kFile + ": metadata key bert.pooling_type: ";
  const std::string supported = " is not a pooling an encoder runs: supported are 1 (mean) and 2 (cls), "
                                "not 0 (none), 3 (last) or 4 (rank)";
  EXPECT_EQ(describe_encoder_error(with("bert.pooling_type", u32(0))), key + "0" + supported);
  EXPECT_EQ(describe_encoder_error(with("bert.pooling_type", u32(3))), key + "3" + supported);
  EXPECT_EQ(describe_encoder_error(with("bert.pooling_type", u32(4))), key + "4" + supported);
  EXPECT_EQ(describe_encoder_error(with("bert.pooling_type", u32(9))), key + "9" + supported);
  EXPECT_EQ(describe_encoder_error(with("bert.pooling_type", text("mean"))), key + "a string" + supported);
  EXPECT_EQ(describe_encoder_error(with("bert.pooling_type", std::nullopt)),
            kFile + ": missing metadata key bert.pooling_type (1: mean or 2: cls pooling)");
}

TEST(EncoderDescribe, NamesTheKeyOrTensorAtFault) {
  const std::string file = kFile + ": ";
  EXPECT_EQ(describe_encoder_error(with("bert.block_count", std::nullopt)), file + "missing metadata key bert.block_count");
  EXPECT_NE(describe_encoder_error(with("bert.block_count", u32(4'000'000'000u)))
                .find("metadata key bert.block_count: 4000000000 layers, but the file holds only"),
            std::string::npos);
  EXPECT_EQ(describe_encoder_error(with("bert.attention.head_count", u32(3))),
            file + "metadata key bert.attention.head_count: 3 heads do not divide bert.embedding_length (8)");
  EXPECT_EQ(describe_encoder_error(with("bert.attention.layer_norm_epsilon", f32(0))),
            file + "metadata key bert.attention.layer_norm_epsilon: 0 is not a positive number");
  EXPECT_EQ(describe_encoder_error(with("bert.attention.causal", flag(true))),
            file + "metadata key bert.attention.causal: an encoder attends both ways: it must be false");
  EXPECT_EQ(describe_encoder_error(with("tokenizer.ggml.token_type_count", std::nullopt)),
            file + "missing metadata key tokenizer.ggml.token_type_count (token_types.weight's rows)");
  EXPECT_EQ(describe_encoder_error(with("tokenizer.ggml.token_type_count", u32(0))),
            file + "metadata key tokenizer.ggml.token_type_count: 0 is not a positive 32-bit integer");

  GgufFile absent = tiny_bert();
  std::erase_if(absent.tensors, [](const TensorInfo& t) { return t.name == "blk.1.ffn_up.bias"; });
  EXPECT_EQ(describe_encoder_error(absent), file + "missing tensor blk.1.ffn_up.bias (expected shape [16])");
  GgufFile misshaped = tiny_bert();
  for (TensorInfo& t : misshaped.tensors) {
    if (t.name == "position_embd.weight") t.shape = {8, 16};
  }
  EXPECT_EQ(describe_encoder_error(misshaped), file + "tensor position_embd.weight has shape [8, 16], expected [8, 32]");
  // The token type count is token_types' row count.
  EXPECT_EQ(describe_encoder_error(with("tokenizer.ggml.token_type_count", u32(3))),
            file + "tensor token_types.weight has shape [8, 2], expected [8, 3]");

  GgufFile llama = tiny_bert();
  llama.metadata.front().second = text("llama");
  EXPECT_EQ(describe_encoder_error(llama), file + "architecture \"llama\" is not a sentence-embedding encoder (bert)");
}

// The language-model paths (serve, run, pack, the GPU loader) all describe through describe_gguf.
TEST(EncoderDescribe, LanguageModelDescriptionRefusesAnEncoder) {
  EXPECT_EQ(error_of([] { describe_gguf(tiny_bert(), kFile); }),
            kFile + ": architecture \"bert\" is a sentence-embedding encoder: it makes embeddings, not text, so it "
                    "cannot run as a language model (llama, mistral or qwen2)");
}

TEST(EncoderDescribe, PoolingTypesAreLlamaCppsEnum) {
  EXPECT_EQ(gguf_pooling_type(Pooling::mean), 1u);
  EXPECT_EQ(gguf_pooling_type(Pooling::cls), 2u);
  EXPECT_EQ(pooling_from_gguf(1), Pooling::mean);
  EXPECT_EQ(pooling_from_gguf(2), Pooling::cls);
  EXPECT_EQ(pooling_from_gguf(0), std::nullopt);
  EXPECT_EQ(pooling_name(Pooling::cls), "cls");
}

// llama.cpp's own bge vocabulary file: a bert GGUF without weights, refused for its missing pooling key.
TEST(EncoderDescribe, LlamaCppsBgeVocabularyIsABertFileWithoutPooling) {
  const std::string vocab = RINGSERVE_SOURCE_DIR "/../shared/tokenizers/ggml-vocab/ggml-vocab-bert-bge.gguf";
  if (!std::filesystem::exists(vocab)) RS_SKIP_UNLESS_CI(vocab + " not found (../shared is absent in a plain clone)");
  EXPECT_EQ(error_of([&] { describe_encoder_gguf(read_gguf(vocab), vocab); }),
            vocab + ": missing metadata key bert.pooling_type (1: mean or 2: cls pooling)");
}

}  // namespace
}  // namespace rs::model
