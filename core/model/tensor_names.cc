#include "core/model/tensor_names.h"

#include <fmt/format.h>

#include <charconv>
#include <iterator>

namespace rs::model {
namespace {

// A dimension of a tensor, from the model's parameters.
enum class Dim : uint8_t { none, embedding, q, kv, ffn, vocab, rope_pairs, positions, token_types };

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

// Indexed by EncoderTensor; every one always there, none in Hugging Face naming here.
constexpr TensorSpec kEncoderTensors[] = {
    {"token_embd.weight", "", Dim::embedding, Dim::vocab, Presence::always, RopeHeads::none},
    {"position_embd.weight", "", Dim::embedding, Dim::positions, Presence::always, RopeHeads::none},
    {"token_types.weight", "", Dim::embedding, Dim::token_types, Presence::always, RopeHeads::none},
    {"token_embd_norm.weight", "", Dim::embedding, Dim::none, Presence::always, RopeHeads::none},
    {"token_embd_norm.bias", "", Dim::embedding, Dim::none, Presence::always, RopeHeads::none},
};
static_assert(std::size(kEncoderTensors) == size_t(EncoderTensor::embedding_norm_bias) + 1);

// Indexed by EncoderLayerTensor.
constexpr TensorSpec kEncoderLayerTensors[] = {
    {"attn_q.weight", "", Dim::embedding, Dim::embedding, Presence::always, RopeHeads::none},
    {"attn_q.bias", "", Dim::embedding, Dim::none, Presence::always, RopeHeads::none},
    {"attn_k.weight", "", Dim::embedding, Dim::embedding, Presence::always, RopeHeads::none},
    {"attn_k.bias", "", Dim::embedding, Dim::none, Presence::always, RopeHeads::none},
    {"attn_v.weight", "", Dim::embedding, Dim::embedding, Presence::always, RopeHeads::none},
    {"attn_v.bias", "", Dim::embedding, Dim::none, Presence::always, RopeHeads::none},
    {"attn_output.weight", "", Dim::embedding, Dim::embedding, Presence::always, RopeHeads::none},
    {"attn_output.bias", "", Dim::embedding, Dim::none, Presence::always, RopeHeads::none},
    {"attn_output_norm.weight", "", Dim::embedding, Dim::none, Presence::always, RopeHeads::none},
    {"attn_output_norm.bias", "", Dim::embedding, Dim::none, Presence::always, RopeHeads::none},
    {"ffn_up.weight", "", Dim::embedding, Dim::ffn, Presence::always, RopeHeads::none},
    {"ffn_up.bias", "", Dim::ffn, Dim::none, Presence::always, RopeHeads::none},
    {"ffn_down.weight", "", Dim::ffn, Dim::embedding, Presence::always, RopeHeads::none},
    {"ffn_down.bias", "", Dim::embedding, Dim::none, Presence::always, RopeHeads::none},
    {"layer_output_norm.weight", "", Dim::embedding, Dim::none, Presence::always, RopeHeads::none},
    {"layer_output_norm.bias", "", Dim::embedding, Dim::none, Presence::always, RopeHeads::none},
};
static_assert(std::size(kEncoderLayerTensors) == size_t(EncoderLayerTensor::layer_output_norm_bias) + 1);

const TensorSpec& spec(ModelTensor tensor) { return kModelTensors[size_t(tensor)]; }
const TensorSpec& spec(LayerTensor tensor) { return kLayerTensors[size_t(tensor)]; }
const TensorSpec& spec(EncoderTensor tensor) { return kEncoderTensors[size_t(tensor)]; }
const TensorSpec& spec(EncoderLayerTensor tensor) { return kEncoderLayerTensors[size_t(tensor)]; }

// Every Dim's size for one model; 0 where the architecture has no such dimension.
struct Sizes {
  uint64_t embedding = 0, q = 0, kv = 0, ffn = 0, vocab = 0, rope_pairs = 0, positions = 0, token_types = 0;
};

Sizes sizes_of(const ModelDesc& d) {
  return {.embedding = d.embedding_dim,
          .q = uint64_t{d.n_heads} * d.head_dim,
          .kv = uint64_t{d.n_kv_heads} * d.head_dim,
          .ffn = d.ffn_dim,
          .vocab = d.vocab_size,
          .rope_pairs = d.head_dim / 2};
}

Sizes sizes_of(const EncoderDesc& d) {
  return {.embedding = d.embedding_dim,
          .ffn = d.ffn_dim,
          .vocab = d.vocab_size,
          .positions = d.context_length,
          .token_types = d.token_types};
}

uint64_t size_of(Dim dim, const Sizes& sizes) {
  switch (dim) {
    case Dim::none: return 0;
    case Dim::embedding: return sizes.embedding;
    case Dim::q: return sizes.q;
    case Dim::kv: return sizes.kv;
    case Dim::ffn: return sizes.ffn;
    case Dim::vocab: return sizes.vocab;
    case Dim::rope_pairs: return sizes.rope_pairs;
    case Dim::positions: return sizes.positions;
    case Dim::token_types: return sizes.token_types;
  }
  return 0;
}

// GGUF shape [row_length] or [row_length, rows].
std::vector<uint64_t> shape_of(const TensorSpec& spec, const Sizes& sizes) {
  std::vector<uint64_t> shape{size_of(spec.row_length, sizes)};
  if (spec.rows != Dim::none) shape.push_back(size_of(spec.rows, sizes));
  return shape;
}

std::string layer_tensor_name(const TensorSpec& spec, uint32_t layer) {
  return fmt::format("{}{}.{}", kGgufLayerPrefix, layer, spec.gguf);
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

std::string tensor_name(LayerTensor tensor, uint32_t layer) { return layer_tensor_name(spec(tensor), layer); }

std::string tensor_name(EncoderTensor tensor) { return std::string(spec(tensor).gguf); }

std::string tensor_name(EncoderLayerTensor tensor, uint32_t layer) { return layer_tensor_name(spec(tensor), layer); }

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
    if (after_layer.substr(1) == t.hf) return layer_tensor_name(t, layer);
  }
  return std::nullopt;
}

bool is_hf_rotary_buffer(std::string_view hf_name) {
  return hf_name.starts_with(kHfLayerPrefix) && hf_name.ends_with(".self_attn.rotary_emb.inv_freq");
}

std::vector<ExpectedTensor> expected_tensors(const ModelDesc& desc) {
  std::vector<ExpectedTensor> tensors;
  const Sizes sizes = sizes_of(desc);
  const auto add = [&](const TensorSpec& spec, std::string name, std::string hf_name) {
    if (!has(spec.presence, desc, name)) return;
    tensors.push_back({std::move(name), std::move(hf_name), shape_of(spec, sizes), spec.rope_heads});
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

std::vector<ExpectedTensor> expected_tensors(const EncoderDesc& desc) {
  std::vector<ExpectedTensor> tensors;
  const Sizes sizes = sizes_of(desc);
  for (size_t t = 0; t < std::size(kEncoderTensors); ++t) {
    tensors.push_back({tensor_name(EncoderTensor(t)), "", shape_of(kEncoderTensors[t], sizes), RopeHeads::none});
  }
  for (uint32_t layer = 0; layer < desc.n_layers; ++layer) {
    for (size_t t = 0; t < std::size(kEncoderLayerTensors); ++t) {
      tensors.push_back({tensor_name(EncoderLayerTensor(t), layer), "", shape_of(kEncoderLayerTensors[t], sizes),
                         RopeHeads::none});
    }
  }
  return tensors;
}

}  // namespace rs::model
