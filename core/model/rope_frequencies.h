#pragma once
// RoPE's angle per position for each pair of a head's dimensions, with the
// model's scaling applied: computed once at load, by every executor alike.
#include <vector>

#include "core/model/model_desc.h"

namespace rs::model {

// base^(-2i/d) for pair i, scaled as Hugging Face scales it. `file_factors`:
// llama.cpp's rope_freqs.weight (divides each frequency), or empty.
std::vector<float> rope_frequencies(const ModelDesc& desc, const std::vector<float>& file_factors);

}  // namespace rs::model
