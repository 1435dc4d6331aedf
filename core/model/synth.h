#pragma once
// GGUF models with deterministic random weights: the same arguments give the
// same bytes, and llama.cpp loads them too, so both can be measured on
// identical weights. Llama-architecture language models, and BERT-family
// sentence-embedding encoders.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/model/encoder_desc.h"
#include "core/model/metadata.h"
#include "core/model/tensor_type.h"

namespace rs::model {

enum class SynthArchitecture : uint8_t { llama, bert };

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

// Llama presets: "tiny" (the built-in demo model), "small", "1b" (Llama 3.2 1B
// shapes) or "8b" (Llama 3 8B shapes); nullopt for anything else.
std::optional<SynthShape> synth_preset(std::string_view name);

// BERT-family encoder shapes.
struct EncoderSynthShape {
  std::string_view preset;
  uint32_t embedding_dim;
  uint32_t n_layers;
  uint32_t n_heads;
  uint32_t ffn_dim;
  uint32_t context_length;
  Pooling pooling;
};

// "tiny" (for tests), "minilm" (all-MiniLM-L6-v2 shapes), "bge-small" or
// "bge-base"; nullopt for anything else.
std::optional<EncoderSynthShape> encoder_synth_preset(std::string_view name);

struct SynthOptions {
  SynthArchitecture architecture = SynthArchitecture::llama;
  std::string preset = "tiny";        // of the architecture's presets
  // llama: f32, f16, bf16, q8_0 or q4_0, norms stay f32. bert: f32, f16 or
  // q8_0, and as llama.cpp's converter writes them, norms, biases and the
  // position and token type embeddings stay f32.
  TensorType type = TensorType::f32;
  uint64_t seed = 0;
  std::string vocab_from = "";        // a GGUF whose tokenizer.* metadata to copy (bert: a WordPiece one)
  std::optional<Pooling> pooling = std::nullopt;  // bert: instead of the preset's
  std::string output;
};

// Writes the model to options.output. Throws ModelError or std::invalid_argument.
void synth_model(const SynthOptions& options);

// <unk>, <s>, </s>, the space marker "▁" and 256 byte tokens, as
// SentencePiece-style metadata: byte fallback tokenizes any text with it.
Metadata byte_vocabulary();

// A WordPiece vocabulary as llama.cpp's converter writes BERT's
// (tokenizer.ggml.model "bert", word-initial pieces marked "▁", continuations
// bare): [PAD] 0, [UNK] 1, [CLS] 2, [SEP] 3, [MASK] 4, then every printable
// ASCII character and every pair of lowercase letters, each word-initial and
// continuing, and a fixed choice of letter triples, so any ASCII text
// tokenizes without [UNK].
Metadata wordpiece_vocabulary();

}  // namespace rs::model
