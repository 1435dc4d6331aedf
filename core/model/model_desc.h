#pragma once
// What a model is, whatever file format it came in: the architecture's
// parameters and a table of where each tensor's bytes are.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/model/metadata.h"
#include "core/model/tensor_type.h"

namespace rs::model {

// How RoPE pairs the dimensions of a head: GGUF llama rotates adjacent pairs
// (0,1), (2,3)…; neox / Hugging Face rotates (i, i + head_dim/2).
enum class RopeLayout { adjacent_pairs, halves };
enum class RopeScaling { none, linear, llama3 };

struct TensorInfo {
  std::string name;             // GGUF naming, as core/model/tensor_names.h spells it
  TensorType type = TensorType::f32;
  std::vector<uint64_t> shape{};  // ggml order: shape[0] is the row length (contiguous)
  uint32_t file = 0;            // index into ModelDesc::files
  uint64_t offset = 0;          // absolute byte offset of the data in that file
  uint64_t bytes = 0;
  // Hugging Face Q/K projection stored for `halves` RoPE that this model runs
  // with `adjacent_pairs`: rows are reordered per head while loading (0: none).
  uint32_t rope_permute_heads = 0;

  uint64_t elements() const;
  uint64_t rows() const { return shape.empty() || shape[0] == 0 ? 0 : elements() / shape[0]; }
};

struct ModelDesc {
  std::string architecture;  // "llama", "mistral" or "qwen2"
  std::string name;
  uint32_t vocab_size = 0;
  uint32_t embedding_dim = 0;
  uint32_t n_layers = 0;
  uint32_t n_heads = 0;
  uint32_t n_kv_heads = 0;
  uint32_t head_dim = 0;
  uint32_t ffn_dim = 0;
  uint32_t context_length = 0;  // the length it was trained for
  RopeLayout rope_layout = RopeLayout::adjacent_pairs;
  float rope_freq_base = 10000.0f;
  RopeScaling rope_scaling = RopeScaling::none;
  float rope_scale_factor = 1.0f;             // linear and llama3
  float rope_low_freq_factor = 1.0f;          // llama3
  float rope_high_freq_factor = 4.0f;         // llama3
  uint32_t rope_original_context = 8192;      // llama3
  float norm_eps = 1e-5f;
  bool tied_embeddings = false;  // no output.weight: the LM head is token_embd
  bool qkv_bias = false;         // qwen2

  std::vector<std::string> files;    // paths; tensors name them by index
  std::vector<TensorInfo> tensors;
  Metadata metadata;                 // tokenizer and the rest, GGUF keys

  const TensorInfo* tensor(std::string_view name) const;
};

// The tensor called `name` in `tensors`, or nullptr.
const TensorInfo* find_tensor(const std::vector<TensorInfo>& tensors, std::string_view name);

// The permutation llama.cpp's converter applies to Hugging Face Q/K weights so
// that `adjacent_pairs` RoPE computes what `halves` RoPE did: within each head
// of 2*half rows, output row 2*j + t comes from input row t*half + j.
// Returns the input row that output row `row` takes, for `heads` heads.
uint64_t rope_permuted_source_row(uint64_t row, uint64_t rows, uint32_t heads);

}  // namespace rs::model
