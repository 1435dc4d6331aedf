#pragma once
// Llama-architecture GGUF models with deterministic random weights: the same
// arguments give the same bytes, and llama.cpp loads them too, so both can be
// measured on identical weights.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/model/metadata.h"
#include "core/model/tensor_type.h"

namespace rs::model {

struct SynthShape {
  std::string_view preset;
  uint32_t embedding_dim;
  uint32_t n_layers;
  uint32_t n_heads;
  uint32_t n_kv_heads;
  uint32_t ffn_dim;
  uint32_t context_length;
  float rope_freq_base;
};

// "tiny" (the built-in demo model), "small", "1b" (Llama 3.2 1B shapes) or
// "8b" (Llama 3 8B shapes); nullopt for anything else.
std::optional<SynthShape> synth_preset(std::string_view name);

struct SynthOptions {
  std::string preset = "tiny";
  TensorType type = TensorType::f32;  // f32, f16, q8_0 or q4_0; norms stay f32
  uint64_t seed = 0;
  std::string vocab_from;             // a GGUF whose tokenizer.* metadata to copy
  std::string output;
};

// Writes the model to options.output. Throws ModelError or std::invalid_argument.
void synth_model(const SynthOptions& options);

// <unk>, <s>, </s>, the space marker "▁" and 256 byte tokens, as
// SentencePiece-style metadata: byte fallback tokenizes any text with it.
Metadata byte_vocabulary();

}  // namespace rs::model
