#pragma once
// What each architecture's `synth` writer shares (internal to core/model): the
// counter-based random tensors, general.file_type, metadata values and the
// tokenizer copied from another GGUF.
#include <cstdint>
#include <string>
#include <vector>

#include "core/model/gguf_writer.h"
#include "core/model/metadata.h"
#include "core/model/tensor_type.h"

namespace rs::model {
struct SynthOptions;  // synth.h, which includes nothing of this
}

namespace rs::model::synth {

// splitmix64: the same input always gives the same well-mixed output.
uint64_t mix(uint64_t x);

// llama.cpp's llama_ftype for general.file_type. Throws std::invalid_argument
// for a type synth does not write.
uint32_t file_type(TensorType type);

// Values uniform in [center − spread, center + spread]; spread 0: all `center`.
struct Spread {
  float center = 0.0f;
  float spread = 0.0f;
};

// Tensor number `index` of the model made from `seed`, stored as `type`: any
// chunk of it is generated on its own and always comes out the same.
GgufTensorOut random_tensor(uint64_t seed, size_t index, std::string name, std::vector<uint64_t> shape,
                            TensorType type, Spread values);

// Variance 1 / fan-in (uniform ± sqrt(3 / fan_in)): keeps a random network's activations in range.
Spread fan_in_spread(uint64_t fan_in);

// The tokenizer.* metadata of the GGUF at `path`; throws ModelError naming it
// when it has no tokenizer.ggml.tokens.
Metadata copied_tokenizer(const std::string& path);

// The BERT-family writer (synth_encoder.cc), for options.architecture == bert.
void synth_encoder(const SynthOptions& options);

}  // namespace rs::model::synth
