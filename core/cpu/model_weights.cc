#include "core/cpu/model_weights.h"

#include <filesystem>

#include "core/model/gguf_describe.h"
#include "core/model/gguf_reader.h"
#include "core/model/rope_frequencies.h"
#include "core/model/safetensors_reader.h"
#include "core/model/tensor_names.h"

namespace rs::cpu {

using model::LayerTensor;
using model::ModelTensor;

model::ModelDesc describe_model(const std::string& path) {
  namespace fs = std::filesystem;
  if (fs::is_directory(path) || fs::path(path).extension() == ".safetensors") {
    return model::read_safetensors_model(path);
  }
  return model::describe_gguf(model::read_gguf(path), path);
}

ModelWeights::ModelWeights(model::ModelDesc desc, const io::StreamOptions& options)
    : desc_(std::move(desc)), images_(desc_.files, desc_.tensors, options) {
  const bool tied = desc_.tied_embeddings;
  token_embedding = images_.matrix(tensor_name(ModelTensor::token_embedding));
  output = tied ? token_embedding : images_.matrix(tensor_name(ModelTensor::output));
  output_norm = images_.vector(tensor_name(ModelTensor::output_norm));
  for (uint32_t l = 0; l < desc_.n_layers; ++l) {
    LayerWeights layer;
    layer.attn_norm = images_.vector(tensor_name(LayerTensor::attn_norm, l));
    layer.ffn_norm = images_.vector(tensor_name(LayerTensor::ffn_norm, l));
    layer.q = images_.matrix(tensor_name(LayerTensor::attn_q, l));
    layer.k = images_.matrix(tensor_name(LayerTensor::attn_k, l));
    layer.v = images_.matrix(tensor_name(LayerTensor::attn_v, l));
    layer.o = images_.matrix(tensor_name(LayerTensor::attn_output, l));
    layer.q_bias = images_.vector(tensor_name(LayerTensor::attn_q_bias, l), desc_.qkv_bias);
    layer.k_bias = images_.vector(tensor_name(LayerTensor::attn_k_bias, l), desc_.qkv_bias);
    layer.v_bias = images_.vector(tensor_name(LayerTensor::attn_v_bias, l), desc_.qkv_bias);
    layer.gate = images_.matrix(tensor_name(LayerTensor::ffn_gate, l));
    layer.up = images_.matrix(tensor_name(LayerTensor::ffn_up, l));
    layer.down = images_.matrix(tensor_name(LayerTensor::ffn_down, l));
    layers.push_back(std::move(layer));
  }
  rope_inv_freq = model::rope_frequencies(desc_, images_.vector(tensor_name(ModelTensor::rope_freqs), false));
}

}  // namespace rs::cpu
