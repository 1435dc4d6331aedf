#pragma once
// A Llama-family model's weights in one CUDA device's memory, in the types the
// file stores them: views into the file images the loader streamed there
// (gpu/device_load.h), so a cold start is the disk read and nothing more. The
// small vectors (norms, biases) and the RoPE frequencies are made f32 on the way.
#include <cstdint>
#include <vector>

#include "core/model/model_desc.h"
#include "gpu/device_buffer.h"
#include "gpu/device_load.h"

namespace rs::gpu {

// A weight matrix on the device: `rows` rows of `cols` values of `type`, `row_bytes` apart.
struct DeviceMatrix {
  model::TensorType type = model::TensorType::f32;
  const std::byte* data = nullptr;
  size_t rows = 0, cols = 0, row_bytes = 0;

  size_t bytes() const { return rows * row_bytes; }
};

struct DeviceLayer {
  const float* attn_norm = nullptr;
  const float* ffn_norm = nullptr;
  DeviceMatrix q, k, v, o, gate, up, down;
  const float* q_bias = nullptr;  // qwen2; null elsewhere
  const float* k_bias = nullptr;
  const float* v_bias = nullptr;
};

class DeviceWeights {
 public:
  // Streams the model's files to device `device` and maps its tensors. Throws
  // model::ModelError naming a tensor that is missing, malformed or of a type
  // the GPU kernels do not read, and std::runtime_error for CUDA failures.
  DeviceWeights(model::ModelDesc desc, int device, const io::StreamOptions& options);

  const model::ModelDesc& desc() const { return desc_; }
  int device() const { return images_.device(); }
  const DeviceLoadResult& load() const { return load_; }
  // Device memory the weights hold: the file images, plus reordered Q/K copies and the f32 vectors.
  uint64_t device_bytes() const;
  // Weight bytes one decode step reads: every layer's matrices and the LM head.
  uint64_t bytes_per_step() const;

  DeviceMatrix token_embedding;
  DeviceMatrix output;  // the LM head (token_embedding when tied)
  const float* output_norm = nullptr;
  std::vector<DeviceLayer> layers;
  const float* rope_inv_freq = nullptr;  // head_dim / 2 angles per position

 private:
  const model::TensorInfo& tensor(const std::string& name) const;
  DeviceMatrix matrix(const std::string& name);
  // Appends the tensor's values as f32 to `host_vectors_`; returns their offset (or -1 when absent and optional).
  int64_t vector(const std::string& name, bool required = true);

  model::ModelDesc desc_;
  DeviceLoadResult load_;
  DeviceImages images_;
  std::vector<DeviceBuffer> permuted_;  // Hugging Face Q/K rows reordered for our RoPE
  std::vector<float> host_vectors_;     // staged while mapping, then uploaded to vectors_
  DeviceBuffer vectors_;
};

}  // namespace rs::gpu
