#include "core/model/tensor_names.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using rs::model::EncoderDesc;
using rs::model::EncoderLayerTensor;
using rs::model::EncoderTensor;
using rs::model::ExpectedTensor;
using rs::model::expected_tensors;
using rs::model::gguf_name_of_hf;
using rs::model::hf_tensor_name;
using rs::model::is_hf_rotary_buffer;
using rs::model::LayerTensor;
using rs::model::ModelDesc;
using rs::model::ModelTensor;
using rs::model::RopeHeads;
using rs::model::tensor_name;
using Shape = std::vector<uint64_t>;

constexpr LayerTensor kEveryLayerTensor[] = {
    LayerTensor::attn_norm,   LayerTensor::attn_q,      LayerTensor::attn_k,      LayerTensor::attn_v,
    LayerTensor::attn_output, LayerTensor::attn_q_bias, LayerTensor::attn_k_bias, LayerTensor::attn_v_bias,
    LayerTensor::ffn_norm,    LayerTensor::ffn_gate,    LayerTensor::ffn_up,      LayerTensor::ffn_down,
};

TEST(TensorNames, SpellsLlamaCppAndHuggingFaceNames) {
  EXPECT_EQ(tensor_name(ModelTensor::token_embedding), "token_embd.weight");
  EXPECT_EQ(tensor_name(ModelTensor::output_norm), "output_norm.weight");
  EXPECT_EQ(tensor_name(ModelTensor::output), "output.weight");
  EXPECT_EQ(tensor_name(ModelTensor::rope_freqs), "rope_freqs.weight");
  EXPECT_EQ(tensor_name(LayerTensor::attn_q, 3), "blk.3.attn_q.weight");
  EXPECT_EQ(tensor_name(LayerTensor::attn_v_bias, 0), "blk.0.attn_v.bias");
  EXPECT_EQ(tensor_name(LayerTensor::ffn_down, 12), "blk.12.ffn_down.weight");

  EXPECT_EQ(hf_tensor_name(ModelTensor::token_embedding), "model.embed_tokens.weight");
  EXPECT_EQ(hf_tensor_name(ModelTensor::output_norm), "model.norm.weight");
  EXPECT_EQ(hf_tensor_name(ModelTensor::output), "lm_head.weight");
  EXPECT_EQ(hf_tensor_name(ModelTensor::rope_freqs), "");
  EXPECT_EQ(hf_tensor_name(LayerTensor::attn_norm, 1), "model.layers.1.input_layernorm.weight");
  EXPECT_EQ(hf_tensor_name(LayerTensor::attn_k_bias, 2), "model.layers.2.self_attn.k_proj.bias");
  EXPECT_EQ(hf_tensor_name(LayerTensor::ffn_norm, 0), "model.layers.0.post_attention_layernorm.weight");
}

TEST(TensorNames, MapsEveryHuggingFaceWeightToItsGgufName) {
  for (const ModelTensor t : {ModelTensor::token_embedding, ModelTensor::output_norm, ModelTensor::output}) {
    EXPECT_EQ(gguf_name_of_hf(hf_tensor_name(t)), tensor_name(t));
  }
  for (const uint32_t layer : {0u, 7u, 31u}) {
    for (const LayerTensor t : kEveryLayerTensor) {
      EXPECT_EQ(gguf_name_of_hf(hf_tensor_name(t, layer)), tensor_name(t, layer)) << hf_tensor_name(t, layer);
    }
  }
  EXPECT_EQ(gguf_name_of_hf(""), std::nullopt);  // rope_freqs is no Hugging Face weight
  EXPECT_EQ(gguf_name_of_hf("model.layers.0.mlp.experts.weight"), std::nullopt);
  EXPECT_EQ(gguf_name_of_hf("model.layers.x.mlp.up_proj.weight"), std::nullopt);
  EXPECT_EQ(gguf_name_of_hf("model.layers.0mlp.up_proj.weight"), std::nullopt);
  EXPECT_EQ(gguf_name_of_hf("model.layers.99999999999.mlp.up_proj.weight"), std::nullopt);

  EXPECT_TRUE(is_hf_rotary_buffer("model.layers.4.self_attn.rotary_emb.inv_freq"));
  EXPECT_FALSE(is_hf_rotary_buffer("rotary_emb.inv_freq"));
  EXPECT_EQ(gguf_name_of_hf("model.layers.4.self_attn.rotary_emb.inv_freq"), std::nullopt);
}

ModelDesc two_layer_model() {
  ModelDesc desc;
  desc.vocab_size = 10;
  desc.embedding_dim = 8;
  desc.n_layers = 2;
  desc.n_heads = 2;
  desc.n_kv_heads = 1;
  desc.head_dim = 4;
  desc.ffn_dim = 16;
  return desc;
}

const ExpectedTensor& named(const std::vector<ExpectedTensor>& tensors, const std::string& name) {
  const auto found = std::ranges::find(tensors, name, &ExpectedTensor::name);
  if (found == tensors.end()) throw std::out_of_range(name);
  return *found;
}

TEST(TensorNames, ExpectsTheTensorsOfTheModelInGgufOrder) {
  ModelDesc desc = two_layer_model();
  std::vector<ExpectedTensor> tensors = expected_tensors(desc);
  ASSERT_EQ(tensors.size(), 3u + 9u * 2u);
  EXPECT_EQ(tensors.front().name, "token_embd.weight");
  EXPECT_EQ(tensors[1].name, "blk.0.attn_norm.weight");
  EXPECT_EQ(tensors[5].name, "blk.0.attn_output.weight");
  EXPECT_EQ(tensors[6].name, "blk.0.ffn_norm.weight");
  EXPECT_EQ(tensors[tensors.size() - 2].name, "output_norm.weight");
  EXPECT_EQ(tensors.back().name, "output.weight");
  EXPECT_EQ(tensors.back().hf_name, "lm_head.weight");
  // ggml order: the row length first.
  EXPECT_EQ(named(tensors, "token_embd.weight").shape, (Shape{8, 10}));
  EXPECT_EQ(named(tensors, "blk.1.attn_q.weight").shape, (Shape{8, 8}));
  EXPECT_EQ(named(tensors, "blk.1.attn_k.weight").shape, (Shape{8, 4}));
  EXPECT_EQ(named(tensors, "blk.1.attn_output.weight").shape, (Shape{8, 8}));
  EXPECT_EQ(named(tensors, "blk.1.ffn_up.weight").shape, (Shape{8, 16}));
  EXPECT_EQ(named(tensors, "blk.1.ffn_down.weight").shape, (Shape{16, 8}));
  EXPECT_EQ(named(tensors, "output_norm.weight").shape, (Shape{8}));
  EXPECT_EQ(named(tensors, "blk.0.attn_q.weight").rope_heads, RopeHeads::query);
  EXPECT_EQ(named(tensors, "blk.0.attn_k.weight").rope_heads, RopeHeads::key_value);
  EXPECT_EQ(named(tensors, "blk.0.attn_v.weight").rope_heads, RopeHeads::none);

  desc.tied_embeddings = true;
  desc.qkv_bias = true;
  tensors = expected_tensors(desc);
  ASSERT_EQ(tensors.size(), 2u + 12u * 2u);
  EXPECT_EQ(tensors.back().name, "output_norm.weight");
  EXPECT_EQ(tensors[6].name, "blk.0.attn_q.bias");  // biases follow attn_output, as llama.cpp writes them
  EXPECT_EQ(named(tensors, "blk.1.attn_q.bias").shape, (Shape{8}));
  EXPECT_EQ(named(tensors, "blk.1.attn_k.bias").shape, (Shape{4}));
  EXPECT_EQ(named(tensors, "blk.1.attn_k.bias").rope_heads, RopeHeads::key_value);
  EXPECT_EQ(named(tensors, "blk.1.attn_v.bias").hf_name, "model.layers.1.self_attn.v_proj.bias");

  // rope_freqs is expected only where the file has it, one factor per RoPE pair.
  desc.tensors.push_back({.name = "rope_freqs.weight", .shape = {2}});
  tensors = expected_tensors(desc);
  EXPECT_EQ(tensors.back().name, "rope_freqs.weight");
  EXPECT_EQ(tensors.back().shape, (Shape{2}));
}

// As llama.cpp's LLM_ARCH_BERT loads them (src/llama-arch.cpp names, llama_model_bert's shapes).
TEST(TensorNames, ExpectsEveryTensorOfABertEncoder) {
  EXPECT_EQ(tensor_name(EncoderTensor::position_embedding), "position_embd.weight");
  EXPECT_EQ(tensor_name(EncoderTensor::token_types), "token_types.weight");
  EXPECT_EQ(tensor_name(EncoderTensor::embedding_norm_bias), "token_embd_norm.bias");
  EXPECT_EQ(tensor_name(EncoderLayerTensor::attn_output_norm, 3), "blk.3.attn_output_norm.weight");
  EXPECT_EQ(tensor_name(EncoderLayerTensor::layer_output_norm_bias, 0), "blk.0.layer_output_norm.bias");
  EXPECT_EQ(tensor_name(EncoderLayerTensor::ffn_down_bias, 11), "blk.11.ffn_down.bias");

  EncoderDesc desc;
  desc.vocab_size = 10;
  desc.embedding_dim = 8;
  desc.n_layers = 2;
  desc.n_heads = 2;
  desc.head_dim = 4;
  desc.ffn_dim = 16;
  desc.context_length = 32;
  desc.token_types = 2;
  const std::vector<ExpectedTensor> tensors = expected_tensors(desc);
  ASSERT_EQ(tensors.size(), 5u + 16u * 2u);
  const auto named = [&](const std::string& name) {
    const auto it =
        std::find_if(tensors.begin(), tensors.end(), [&](const ExpectedTensor& t) { return t.name == name; });
    if (it == tensors.end()) throw std::runtime_error("no tensor " + name);
    return it->shape;
  };
  EXPECT_EQ(named("token_embd.weight"), (Shape{8, 10}));
  EXPECT_EQ(named("position_embd.weight"), (Shape{8, 32}));
  EXPECT_EQ(named("token_types.weight"), (Shape{8, 2}));
  EXPECT_EQ(named("token_embd_norm.weight"), (Shape{8}));
  EXPECT_EQ(named("blk.1.attn_q.weight"), (Shape{8, 8}));
  EXPECT_EQ(named("blk.1.attn_v.bias"), (Shape{8}));
  EXPECT_EQ(named("blk.1.attn_output.weight"), (Shape{8, 8}));
  EXPECT_EQ(named("blk.1.attn_output_norm.bias"), (Shape{8}));
  EXPECT_EQ(named("blk.1.ffn_up.weight"), (Shape{8, 16}));
  EXPECT_EQ(named("blk.1.ffn_up.bias"), (Shape{16}));
  EXPECT_EQ(named("blk.1.ffn_down.weight"), (Shape{16, 8}));
  EXPECT_EQ(named("blk.1.ffn_down.bias"), (Shape{8}));
  EXPECT_EQ(named("blk.1.layer_output_norm.weight"), (Shape{8}));
  for (const ExpectedTensor& t : tensors) {
    EXPECT_TRUE(t.hf_name.empty()) << t.name;
    EXPECT_EQ(t.rope_heads, RopeHeads::none) << t.name;
  }
}

}  // namespace
