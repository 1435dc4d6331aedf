#pragma once
// A float64 Llama forward pass written from the architecture definition, with
// no code shared with the executor but the file's dequantization: what the
// CPU executor's logits are checked against.
#include <span>
#include <vector>

#include "core/cpu/model_weights.h"

namespace rs::cpu::testing {

// The prompt the executors' logits are checked on: BOS, "Hello world!", and ids from across the vocabulary.
inline const std::vector<int32_t> kPrompt = {1, 72, 101, 108, 108, 111, 32, 119, 111, 114, 108, 100, 33, 7, 200, 3, 45};

// Where the reference rounds as the executor does; everything else is exact.
struct ReferenceRounding {
  model::TensorType kv = model::TensorType::f32;  // keys and values stored as this type and read back
  // Activations quantized as ggml's dot products quantize them: to q8_0 for
  // q8_0/q4_0 weights, to q8_K (blocks of 256, d = 1 / (−127 / max)) for
  // q4_K/q5_K/q6_K weights.
  bool activations = false;
};

// RoPE's angle per position for each pair i < head_dim / 2, as Hugging Face
// defines it: base^(−2i/d), divided by the linear factor, or scaled by
// _compute_llama3_parameters; or, where the file has rope_freqs.weight (read
// from the file itself), divided by its factors as llama.cpp does (and by a
// linear factor too, llama.cpp's freq_scale).
std::vector<double> reference_rope_frequencies(const model::ModelDesc& desc);

// Logits after each of `tokens` (positions 0, 1, …), one row per token.
std::vector<std::vector<double>> reference_logits(const ModelWeights& weights, std::span<const int32_t> tokens,
                                                  const ReferenceRounding& rounding = {});

// ‖a − b‖ / ‖b‖.
double relative_error(std::span<const float> a, std::span<const double> b);

}  // namespace rs::cpu::testing
