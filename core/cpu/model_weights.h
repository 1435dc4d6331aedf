#pragma once
// A Llama-family model's weights in host memory, in the types the file stores
// them: views into the whole-file images the loader streamed, so loading is one
// read and no weight is converted up front (q4_0 and q8_0 rows are rearranged
// in place for the CPU kernels: kernels::prepare_matrix).
#include <string>
#include <vector>

#include "core/cpu/tensor_images.h"
#include "core/kernels/matmul.h"
#include "core/model/model_desc.h"
#include "io/file_stream.h"

namespace rs::cpu {

struct LayerWeights {
  std::vector<float> attn_norm, ffn_norm;
  kernels::Matrix q, k, v, o;
  std::vector<float> q_bias, k_bias, v_bias;  // qwen2; empty elsewhere
  kernels::Matrix gate, up, down;
};

class ModelWeights {
 public:
  // Streams the model's files into memory and maps its tensors. Throws
  // model::ModelError naming the tensor that is missing or malformed.
  ModelWeights(model::ModelDesc desc, const io::StreamOptions& options);
  ModelWeights(const ModelWeights&) = delete;
  ModelWeights& operator=(const ModelWeights&) = delete;

  const model::ModelDesc& desc() const { return desc_; }

  // Backs the weights with huge pages where the kernel can (about +15% decode
  // on a 1B model, TLB misses), at about 2.6 ms per MB: slower than the load
  // itself, so serve calls it beside the engine, after start-up. Safe while
  // steps read the weights: the kernel moves pages under its own locks.
  void move_to_huge_pages() const { images_.move_to_huge_pages(); }

  kernels::Matrix token_embedding;
  kernels::Matrix output;  // the LM head (token_embedding when tied)
  std::vector<float> output_norm;
  std::vector<LayerWeights> layers;
  // Per RoPE pair, the angle per position, with the model's scaling applied.
  std::vector<float> rope_inv_freq;

 private:
  model::ModelDesc desc_;
  TensorImages images_;  // after desc_: it views desc_'s files and tensors
};

// The description of the language model at `path`: a GGUF file, or a Hugging
// Face safetensors directory (or a .safetensors file in one). A sentence
// encoder's file is refused (model::ModelError): encoder_weights.h reads those.
model::ModelDesc describe_model(const std::string& path);

}  // namespace rs::cpu
