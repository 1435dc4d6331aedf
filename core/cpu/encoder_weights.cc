#include "core/cpu/encoder_weights.h"

#include "core/model/gguf_describe.h"
#include "core/model/gguf_reader.h"
#include "core/model/tensor_names.h"

namespace rs::cpu {

using model::EncoderLayerTensor;
using model::EncoderTensor;

model::EncoderDesc describe_encoder(const std::string& path) {
  return model::describe_encoder_gguf(model::read_gguf(path), path);
}

EncoderWeights::EncoderWeights(model::EncoderDesc desc, const io::StreamOptions& options)
    : desc_(std::move(desc)), images_(desc_.files, desc_.tensors, options) {
  token_embedding = images_.matrix(tensor_name(EncoderTensor::token_embedding));
  position_embedding = images_.matrix(tensor_name(EncoderTensor::position_embedding));
  token_type_0.resize(desc_.embedding_dim);
  kernels::dequantize_row(images_.matrix(tensor_name(EncoderTensor::token_types)), 0, token_type_0.data());
  embedding_norm = {images_.vector(tensor_name(EncoderTensor::embedding_norm)),
                    images_.vector(tensor_name(EncoderTensor::embedding_norm_bias))};
  for (uint32_t l = 0; l < desc_.n_layers; ++l) {
    const auto projection = [&](EncoderLayerTensor weight, EncoderLayerTensor bias) {
      return Projection{images_.matrix(tensor_name(weight, l)), images_.vector(tensor_name(bias, l))};
    };
    const auto norm = [&](EncoderLayerTensor weight, EncoderLayerTensor bias) {
      return LayerNormWeights{images_.vector(tensor_name(weight, l)), images_.vector(tensor_name(bias, l))};
    };
    using enum EncoderLayerTensor;
    layers.push_back({.q = projection(attn_q, attn_q_bias),
                      .k = projection(attn_k, attn_k_bias),
                      .v = projection(attn_v, attn_v_bias),
                      .attn_output = projection(attn_output, attn_output_bias),
                      .attn_output_norm = norm(attn_output_norm, attn_output_norm_bias),
                      .ffn_up = projection(ffn_up, ffn_up_bias),
                      .ffn_down = projection(ffn_down, ffn_down_bias),
                      .layer_output_norm = norm(layer_output_norm, layer_output_norm_bias)});
  }
}

}  // namespace rs::cpu
