#pragma once
// A float64 Llama forward pass written from the architecture definition, with
// no code shared with the executor but the file's dequantization: what the
// CPU executor's logits are checked against.
#include <span>
#include <vector>

#include "core/engine/model_weights.h"

namespace rs::engine::testing {

// Where the reference rounds as the executor does; everything else is exact.
struct ReferenceRounding {
  model::TensorType kv = model::TensorType::f32;  // keys and values stored as this type and read back
  bool activations = false;  // activations quantized to q8_0 for q8_0/q4_0 weights, as ggml's dot products do
};

// Logits after each of `tokens` (positions 0, 1, …), one row per token.
std::vector<std::vector<double>> reference_logits(const ModelWeights& weights, std::span<const int32_t> tokens,
                                                  const ReferenceRounding& rounding = {});

// ‖a − b‖ / ‖b‖.
double relative_error(std::span<const float> a, std::span<const double> b);

}  // namespace rs::engine::testing
