#include "core/model/tensor_names.h"

#include <fmt/format.h>

#include <charconv>
#include <iterator>

namespace rs::model {
namespace {

// A dimension of a tensor, from the model's parameters.
enum class Dim : uint8_t { none, embedding, q, kv, ffn, vocab, rope_pairs };

// When a model has a tensor.
enum class Presence : uint8_t {
  always,
  untied,    // output: without it the LM head is token_embd
  qkv_bias,  // the attention biases of qwen2
  optional,  // rope_freqs: only llama.cpp's llama3 files carry it
};

struct TensorSpec {
  std::string_view gguf;  // per layer, after "blk.{layer}."
  std::string_view hf;    // per layer, after "model.layers.{layer}."; empty: not in Hugging Face files
  Dim row_length, rows;   // GGUF shape [row_length, rows]; rows none: a vector
  Presence presence;
  RopeHeads rope_heads;
};

constexpr std::string_view kGgufLayerPrefix = "blk.";
constexpr std::string_view kHfLayerPrefix = "model.layers.";

// Indexed by ModelTensor.
constexpr TensorSpec kModelTensors[] = {
    {"token_embd.weight", "model.embed_tokens.weight", Dim::embedding, Dim::vocab, Presence::always, RopeHeads::none},
    {"output_norm.weight", "model.norm.weight", Dim::embedding, Dim::none, Presence::always, RopeHeads::none},
    {"output.weight", "lm_head.weight", Dim::embedding, Dim::vocab, Presence::untied, RopeHeads::none},
    {"rope_freqs.weight", "", Dim::rope_pairs, Dim::none, Presence::optional, RopeHeads::none},
};
static_assert(std::size(kModelTensors) == size_t(ModelTensor::rope_freqs) + 1);

// Indexed by LayerTensor.
constexpr TensorSpec kLayerTensors[] = {
    {"attn_norm.weight", "input_layernorm.weight", Dim::embedding, Dim::none, Presence::always, RopeHeads::none},
    {"attn_q.weight", "self_attn.q_proj.weight", Dim::embedding, Dim::q, Presence::always, RopeHeads::query},
    {"attn_k.weight", "self_attn.k_proj.weight", Dim::embedding, Dim::kv, Presence::always, RopeHeads::key_value},
    {"attn_v.weight", "self_attn.v_proj.weight", Dim::embedding, Dim::kv, Presence::always, RopeHeads::none},
    {"attn_output.weight", "self_attn.o_proj.weight", Dim::q, Dim::embedding, Presence::always, RopeHeads::none},
    {"attn_q.bias", "self_attn.q_proj.bias", Dim::q, Dim::none, Presence::qkv_bias, RopeHeads::query},
    {"attn_k.bias", "self_attn.k_proj.bias", Dim::kv, Dim::none, Presence::qkv_bias, RopeHeads::key_value},
    {"attn_v.bias", "self_attn.v_proj.bias", Dim::kv, Dim::none, Presence::qkv_bias, RopeHeads::none},
    {"ffn_norm.weight", "post_attention_layernorm.weight", Dim::embedding, Dim::none, Presence::always,
     RopeHeads::none},
    {"ffn_gate.weight", "mlp.gate_proj.weight", Dim::embedding, Dim::ffn, Presence::always, RopeHeads::none},
    {"ffn_up.weight", "mlp.up_proj.weight", Dim::embedding, Dim::ffn, Presence::always, RopeHeads::none},
    {"ffn_down.weight", "mlp.down_proj.weight", Dim::ffn, Dim::embedding, Presence::always, RopeHeads::none},
};
static_assert(std::size(kLayerTensors) == size_t(LayerTensor::ffn_down) + 1);

const TensorSpec& spec(ModelTensor tensor) { return kModelTensors[size_t(tensor)]; }
const TensorSpec& spec(LayerTensor tensor) { return kLayerTensors[size_t(tensor)]; }

uint64_t size_of(Dim dim, const ModelDesc& desc) {
  switch (dim) {
    case Dim::none: return 0;
    case Dim::embedding: return desc.embedding_dim;
    case Dim::q: return uint64_t{desc.n_heads} * desc.head_dim;
    case Dim::kv: return uint64_t{desc.n_kv_heads} * desc.head_dim;
    case Dim::ffn: return desc.ffn_dim;
    case Dim::vocab: return desc.vocab_size;
    case Dim::rope_pairs: return desc.head_dim / 2;
  }
  return 0;
}

bool has(Presence presence, const ModelDesc& desc, const std::string& name) {
  switch (presence) {
    case Presence::always: return true;
    case Presence::untied: return !desc.tied_embeddings;
    case Presence::qkv_bias: return desc.qkv_bias;
    case Presence::optional: return desc.tensor(name) != nullptr;
  }
  return false;
}

}  // namespace

std::string tensor_name(ModelTensor tensor) { return std::string(spec(tensor).gguf); }

std::string tensor_name(LayerTensor tensor, uint32_t layer) {
  return fmt::format("{}{}.{}", kGgufLayerPrefix, layer, spec(tensor).gguf);
}

std::string hf_tensor_name(ModelTensor tensor) { return std::string(spec(tensor).hf); }

std::string hf_tensor_name(LayerTensor tensor, uint32_t layer) {
  return fmt::format("{}{}.{}", kHfLayerPrefix, layer, spec(tensor).hf);
}

std::optional<std::string> gguf_name_of_hf(std::string_view hf_name) {
  for (const TensorSpec& t : kModelTensors) {
    if (!t.hf.empty() && hf_name == t.hf) return std::string(t.gguf);
  }
  if (!hf_name.starts_with(kHfLayerPrefix)) return std::nullopt;
  const std::string_view rest = hf_name.substr(kHfLayerPrefix.size());
  uint32_t layer = 0;
  const auto [digits_end, error] = std::from_chars(rest.data(), rest.data() + rest.size(), layer);
  const std::string_view after_layer(digits_end, rest.data() + rest.size());
  if (error != std::errc() || !after_layer.starts_with('.')) return std::nullopt;
  for (const TensorSpec& t : kLayerTensors) {
    if (after_layer.substr(1) == t.hf) return fmt::format("{}{}.{}", kGgufLayerPrefix, layer, t.gguf);
  }
  return std::nullopt;
}

bool is_hf_rotary_buffer(std::string_view hf_name) {
  return hf_name.starts_with(kHfLayerPrefix) && hf_name.ends_with(".self_attn.rotary_emb.inv_freq");
}

std::vector<ExpectedTensor> expected_tensors(const ModelDesc& desc) {
  std::vector<ExpectedTensor> tensors;
  const auto add = [&](const TensorSpec& spec, std::string name, std::string hf_name) {
    if (!has(spec.presence, desc, name)) return;
    std::vector<uint64_t> shape{size_of(spec.row_length, desc)};
    if (spec.rows != Dim::none) shape.push_back(size_of(spec.rows, desc));
    tensors.push_back({std::move(name), std::move(hf_name), std::move(shape), spec.rope_heads});
  };
  const auto add_model_tensor = [&](ModelTensor t) { add(spec(t), tensor_name(t), hf_tensor_name(t)); };
  // As llama.cpp writes them: the embedding, the layers, then the head.
  add_model_tensor(ModelTensor::token_embedding);
  for (uint32_t layer = 0; layer < desc.n_layers; ++layer) {
    for (size_t t = 0; t < std::size(kLayerTensors); ++t) {
      const auto tensor = LayerTensor(t);
      add(spec(tensor), tensor_name(tensor, layer), hf_tensor_name(tensor, layer));
    }
  }
  add_model_tensor(ModelTensor::output_norm);
  add_model_tensor(ModelTensor::output);
  add_model_tensor(ModelTensor::rope_freqs);
  return tensors;
}

}  // namespace rs::model
