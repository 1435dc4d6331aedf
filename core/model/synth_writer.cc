#include "core/model/synth_writer.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "core/model/gguf_reader.h"
#include "core/model/model_error.h"
#include "core/model/quantize.h"

namespace rs::model::synth {
namespace {

void generate(uint64_t stream, Spread values, uint64_t first, size_t count, float* out) {
  for (size_t i = 0; i < count; ++i) {
    if (values.spread == 0) {
      out[i] = values.center;
      continue;
    }
    const uint64_t bits = mix(stream ^ mix(first + i));
    const float unit = float(bits >> 40) * (1.0f / float(1 << 24));  // [0, 1)
    out[i] = values.center + (2.0f * unit - 1.0f) * values.spread;
  }
}

// Fills byte range [offset, offset + chunk.size()) of a tensor, generating the
// whole blocks that cover it.
void fill_tensor(uint64_t stream, Spread values, TensorType type, uint64_t offset, std::span<uint8_t> chunk) {
  const TensorTypeInfo& t = info(type);
  const uint64_t first_block = offset / t.block_bytes;
  const uint64_t end_block = (offset + chunk.size() + t.block_bytes - 1) / t.block_bytes;
  const size_t elements = size_t(end_block - first_block) * t.block_elements;
  std::vector<float> floats(elements);
  generate(stream, values, first_block * t.block_elements, elements, floats.data());
  std::vector<uint8_t> encoded(size_t(end_block - first_block) * t.block_bytes);
  quantize_row(type, floats.data(), encoded.data(), elements);
  const size_t skip = size_t(offset - first_block * t.block_bytes);
  std::copy_n(encoded.begin() + skip, chunk.size(), chunk.begin());
}

}  // namespace

uint64_t mix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

uint32_t file_type(TensorType type) {
  switch (type) {
    case TensorType::f32: return 0;
    case TensorType::f16: return 1;
    case TensorType::q4_0: return 2;
    case TensorType::q8_0: return 7;
    case TensorType::bf16: return 32;
    default: throw std::invalid_argument("synth writes f32, f16, bf16, q8_0 or q4_0 weights");
  }
}

GgufTensorOut random_tensor(uint64_t seed, size_t index, std::string name, std::vector<uint64_t> shape,
                            TensorType type, Spread values) {
  const uint64_t stream = mix(seed ^ mix(index + 1));
  return {std::move(name), type, std::move(shape), [stream, values, type](uint64_t offset, std::span<uint8_t> chunk) {
            fill_tensor(stream, values, type, offset, chunk);
          }};
}

Spread fan_in_spread(uint64_t fan_in) { return {0.0f, std::sqrt(3.0f / float(fan_in))}; }

Metadata copied_tokenizer(const std::string& path) {
  Metadata tokenizer;
  for (auto& [key, value] : read_gguf(path).metadata) {
    if (key.starts_with("tokenizer.")) tokenizer.emplace_back(key, value);
  }
  const MetaValue* tokens = find(tokenizer, "tokenizer.ggml.tokens");
  if (tokens == nullptr || tokens->as_array() == nullptr || tokens->as_array()->empty()) {
    throw ModelError(fmt::format("{}: --vocab-from needs tokenizer.ggml.tokens, which it lacks", path));
  }
  return tokenizer;
}

}  // namespace rs::model::synth
