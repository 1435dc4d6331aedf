#pragma once
// A float64 BERT sentence encoder written from the architecture definition
// (llama.cpp's LLM_ARCH_BERT graph: post-LayerNorm layers, GELU in its tanh
// form, bidirectional attention), in plain loops, sharing no code with
// cpu::BertEncoder but the file's description and dequantization: what the
// encoder's vectors are checked against.
#include <cstdint>
#include <string>
#include <vector>

#include "core/model/tensor_type.h"

namespace rs::cpu::testing {

struct EncoderReferenceRounding {
  // Activations quantized to q8_0 before each product with q8_0 weights, as
  // ggml's dot products (and the encoder's) quantize them.
  bool activations = false;
};

// Each input's pooled, L2-normalised vector, for the encoder in the GGUF at `path`.
std::vector<std::vector<double>> reference_embeddings(const std::string& path,
                                                      const std::vector<std::vector<int32_t>>& inputs,
                                                      const EncoderReferenceRounding& rounding = {});

}  // namespace rs::cpu::testing
