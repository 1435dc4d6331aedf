#pragma once
// What a sentence-embedding encoder is (BERT family: bge, all-MiniLM, e5, gte):
// its parameters and where each tensor's bytes are. Kept apart from ModelDesc,
// which describes text generators: an encoder has no RoPE, no KV heads and no
// LM head, but positions, token types and a pooling.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/model/metadata.h"
#include "core/model/model_desc.h"

namespace rs::model {

// How a sequence's token vectors become one: their mean, or the first ([CLS]) token's.
enum class Pooling : uint8_t { mean, cls };

std::string_view pooling_name(Pooling pooling);  // "mean", "cls"

// llama.cpp's enum llama_pooling_type, as `{arch}.pooling_type` stores it.
uint32_t gguf_pooling_type(Pooling pooling);
// nullopt for the types an encoder does not pool with: 0 none, 3 last, 4 rank, and unknown ones.
std::optional<Pooling> pooling_from_gguf(uint64_t type);

struct EncoderDesc {
  std::string architecture;  // "bert"
  std::string name;
  uint32_t vocab_size = 0;
  uint32_t embedding_dim = 0;
  uint32_t n_layers = 0;
  uint32_t n_heads = 0;
  uint32_t head_dim = 0;
  uint32_t ffn_dim = 0;
  uint32_t context_length = 0;  // positions: position_embd's rows, the longest input
  uint32_t token_types = 0;     // token_types' rows (inputs all use type 0)
  float norm_eps = 1e-12f;      // LayerNorm's
  Pooling pooling = Pooling::mean;

  std::vector<std::string> files;  // paths; tensors name them by index
  std::vector<TensorInfo> tensors;
  Metadata metadata;               // tokenizer and the rest, GGUF keys

  const TensorInfo* tensor(std::string_view name) const { return find_tensor(tensors, name); }
};

}  // namespace rs::model
