#pragma once
// `pack`: any model we read (GGUF, safetensors) → a GGUF laid out for a single
// streaming read: 4 KiB-aligned tensors in the types the executors use.
#include <optional>
#include <string>

#include "core/model/tensor_type.h"

namespace rs::model {

struct PackOptions {
  std::string input;   // .gguf, .safetensors, or a Hugging Face model directory
  std::string output;  // .gguf
  // Convert F32/F16/BF16 matrices to this type (f16, q8_0, q4_0); nullopt keeps
  // every type. Norms and biases always become f32; k-quants are copied.
  std::optional<TensorType> type;
};

// Throws ModelError naming the file and tensor on failure.
void pack_model(const PackOptions& options);

}  // namespace rs::model
