#pragma once
// The one table of llama-family (llama, mistral, qwen2) tensors: llama.cpp's GGUF
// name, the Hugging Face name it is converted from, its shape and when a model has
// it; and of BERT-family encoders' (GGUF only). Every reader and writer of
// weights names tensors through it.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/model/encoder_desc.h"
#include "core/model/model_desc.h"

namespace rs::model {

// Tensors a model has once.
enum class ModelTensor : uint8_t { token_embedding, output_norm, output, rope_freqs };

// Tensors every layer has, in GGUF file order.
enum class LayerTensor : uint8_t {
  attn_norm,
  attn_q,
  attn_k,
  attn_v,
  attn_output,
  attn_q_bias,
  attn_k_bias,
  attn_v_bias,
  ffn_norm,
  ffn_gate,
  ffn_up,
  ffn_down,
};

// Whose head count a Hugging Face Q or K tensor's rows are reordered by for
// adjacent-pairs RoPE (model::rope_permuted_source_row).
enum class RopeHeads : uint8_t { none, query, key_value };

// GGUF names: "token_embd.weight", "blk.3.attn_q.weight".
std::string tensor_name(ModelTensor tensor);
std::string tensor_name(LayerTensor tensor, uint32_t layer);

// Hugging Face names: "lm_head.weight", "model.layers.3.self_attn.q_proj.bias".
// rope_freqs has none (empty): Hugging Face configs give the scaling instead.
std::string hf_tensor_name(ModelTensor tensor);
std::string hf_tensor_name(LayerTensor tensor, uint32_t layer);

// The GGUF name of a Hugging Face weight; nullopt for a name that is no weight we know.
std::optional<std::string> gguf_name_of_hf(std::string_view hf_name);

// Saved by older transformers versions; recomputed from rope_theta, so not a weight.
bool is_hf_rotary_buffer(std::string_view hf_name);

struct ExpectedTensor {
  std::string name;             // GGUF
  std::string hf_name;
  std::vector<uint64_t> shape;  // ggml order: the row length first
  RopeHeads rope_heads;
};

// The tensors `desc` must have, in GGUF file order: the always-there ones, output
// unless tied, the biases with qkv_bias, and rope_freqs where desc.tensors has it.
std::vector<ExpectedTensor> expected_tensors(const ModelDesc& desc);

// BERT-family encoders (llama.cpp's "bert"): the tensors they have once…
enum class EncoderTensor : uint8_t {
  token_embedding,
  position_embedding,
  token_types,
  embedding_norm,
  embedding_norm_bias,
};

// …and the ones every layer has. All are required: llama.cpp's converter writes
// every one for BertModel.
enum class EncoderLayerTensor : uint8_t {
  attn_q,
  attn_q_bias,
  attn_k,
  attn_k_bias,
  attn_v,
  attn_v_bias,
  attn_output,
  attn_output_bias,
  attn_output_norm,
  attn_output_norm_bias,
  ffn_up,
  ffn_up_bias,
  ffn_down,
  ffn_down_bias,
  layer_output_norm,
  layer_output_norm_bias,
};

// GGUF names: "position_embd.weight", "blk.3.attn_output_norm.bias".
std::string tensor_name(EncoderTensor tensor);
std::string tensor_name(EncoderLayerTensor tensor, uint32_t layer);

// The tensors an encoder must have, the model's first, then layer by layer;
// hf_name is empty (encoders are read from GGUF only) and rope_heads none.
std::vector<ExpectedTensor> expected_tensors(const EncoderDesc& desc);

}  // namespace rs::model
