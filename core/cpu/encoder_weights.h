#pragma once
// A BERT-family encoder's weights in host memory, in the types the file stores
// them: views into the streamed file images (TensorImages), as a language
// model's are, plus the few float vectors (norms, biases) dequantized.
#include <string>
#include <vector>

#include "core/cpu/tensor_images.h"
#include "core/kernels/matrix.h"
#include "core/model/encoder_desc.h"
#include "io/file_stream.h"

namespace rs::cpu {

// y = x · Wᵀ + b: a weight matrix (rows = outputs) and its bias.
struct Projection {
  kernels::Matrix weight;
  std::vector<float> bias;
};

struct LayerNormWeights {
  std::vector<float> weight, bias;
};

struct EncoderLayerWeights {
  Projection q, k, v, attn_output;
  LayerNormWeights attn_output_norm;
  Projection ffn_up, ffn_down;
  LayerNormWeights layer_output_norm;
};

class EncoderWeights {
 public:
  // Streams the encoder's file into memory and maps its tensors. Throws
  // model::ModelError naming the tensor that is missing or malformed.
  EncoderWeights(model::EncoderDesc desc, const io::StreamOptions& options);
  EncoderWeights(const EncoderWeights&) = delete;
  EncoderWeights& operator=(const EncoderWeights&) = delete;

  const model::EncoderDesc& desc() const { return desc_; }

  kernels::Matrix token_embedding;     // [vocab] rows of embedding_dim
  kernels::Matrix position_embedding;  // [context_length] rows
  std::vector<float> token_type_0;     // token_types' row 0: every input is one segment
  LayerNormWeights embedding_norm;
  std::vector<EncoderLayerWeights> layers;

 private:
  model::EncoderDesc desc_;
  TensorImages images_;  // after desc_: it views desc_'s files and tensors
};

// The description of the encoder in the GGUF at `path`. Throws
// model::ModelError naming the file and the key or tensor at fault.
model::EncoderDesc describe_encoder(const std::string& path);

}  // namespace rs::cpu
