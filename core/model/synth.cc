#include "core/model/synth.h"

#include <fmt/format.h>

#include <cmath>
#include <functional>
#include <stdexcept>
#include <vector>

#include "core/model/gguf_reader.h"
#include "core/model/gguf_writer.h"
#include "core/model/model_error.h"
#include "core/model/quantize.h"
#include "core/model/tensor_names.h"

namespace rs::model {
namespace {

constexpr SynthShape kPresets[] = {
    {"tiny", 64, 2, 4, 2, 192, 2048, 10000.0f},
    {"small", 256, 4, 8, 4, 768, 4096, 10000.0f},
    {"1b", 2048, 16, 32, 8, 8192, 8192, 500000.0f},
    {"8b", 4096, 32, 32, 8, 14336, 8192, 500000.0f},
};

// llama.cpp's llama_ftype for general.file_type.
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

MetaValue u32(uint32_t v) { return {MetaType::u32, MetaType::u32, uint64_t{v}}; }
MetaValue f32(double v) { return {MetaType::f32, MetaType::u32, v}; }
MetaValue text(std::string v) { return {MetaType::string, MetaType::u32, std::move(v)}; }
MetaValue flag(bool v) { return {MetaType::boolean, MetaType::u32, v}; }

// splitmix64: a counter-based generator, so any chunk of any tensor can be
// produced on its own, in any order, and always comes out the same.
uint64_t mix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

struct WeightSpec {
  uint64_t stream;  // per-tensor generator key
  float scale;      // values are uniform in [-scale, scale]; 0: all ones (norms)
};

void generate(const WeightSpec& spec, uint64_t first, size_t count, float* out) {
  for (size_t i = 0; i < count; ++i) {
    if (spec.scale == 0) {
      out[i] = 1.0f;
      continue;
    }
    const uint64_t bits = mix(spec.stream ^ mix(first + i));
    const float unit = float(bits >> 40) * (1.0f / float(1 << 24));  // [0, 1)
    out[i] = (2.0f * unit - 1.0f) * spec.scale;
  }
}

// Fills byte range [offset, offset + chunk.size()) of a tensor, generating the
// whole blocks that cover it.
void fill_tensor(const WeightSpec& spec, TensorType type, uint64_t offset, std::span<uint8_t> chunk) {
  const TensorTypeInfo& t = info(type);
  const uint64_t first_block = offset / t.block_bytes;
  const uint64_t end_block = (offset + chunk.size() + t.block_bytes - 1) / t.block_bytes;
  const size_t elements = size_t(end_block - first_block) * t.block_elements;
  std::vector<float> values(elements);
  generate(spec, first_block * t.block_elements, elements, values.data());
  std::vector<uint8_t> encoded(size_t(end_block - first_block) * t.block_bytes);
  quantize_row(type, values.data(), encoded.data(), elements);
  const size_t skip = size_t(offset - first_block * t.block_bytes);
  std::copy_n(encoded.begin() + skip, chunk.size(), chunk.begin());
}

Metadata tokenizer_metadata(const SynthOptions& options) {
  if (options.vocab_from.empty()) return byte_vocabulary();
  Metadata tokenizer;
  for (auto& [key, value] : read_gguf(options.vocab_from).metadata) {
    if (key.starts_with("tokenizer.")) tokenizer.emplace_back(key, value);
  }
  const MetaValue* tokens = find(tokenizer, "tokenizer.ggml.tokens");
  if (tokens == nullptr || tokens->as_array() == nullptr || tokens->as_array()->empty()) {
    throw ModelError(fmt::format("{}: --vocab-from needs tokenizer.ggml.tokens, which it lacks",
                                 options.vocab_from));
  }
  return tokenizer;
}

}  // namespace

std::optional<SynthShape> synth_preset(std::string_view name) {
  for (const SynthShape& shape : kPresets) {
    if (shape.preset == name) return shape;
  }
  return std::nullopt;
}

Metadata byte_vocabulary() {
  // Token types as llama.cpp numbers them: 1 normal, 2 unknown, 3 control, 6 byte.
  // "▁" is SentencePiece's space marker: without a piece for it, llama.cpp
  // byte-falls-back on the marker itself and text no longer round-trips.
  MetaArray tokens{text("<unk>"), text("<s>"), text("</s>"), text("\u2581")};
  MetaArray types{MetaValue{MetaType::i32, MetaType::u32, int64_t{2}},
                  MetaValue{MetaType::i32, MetaType::u32, int64_t{3}},
                  MetaValue{MetaType::i32, MetaType::u32, int64_t{3}},
                  MetaValue{MetaType::i32, MetaType::u32, int64_t{1}}};
  for (int byte = 0; byte < 256; ++byte) {
    tokens.push_back(text(fmt::format("<0x{:02X}>", byte)));
    types.push_back(MetaValue{MetaType::i32, MetaType::u32, int64_t{6}});
  }
  MetaArray scores(tokens.size(), f32(0.0));
  return {
      {"tokenizer.ggml.model", text("llama")},
      {"tokenizer.ggml.tokens", MetaValue{MetaType::array, MetaType::string, std::move(tokens)}},
      {"tokenizer.ggml.scores", MetaValue{MetaType::array, MetaType::f32, std::move(scores)}},
      {"tokenizer.ggml.token_type", MetaValue{MetaType::array, MetaType::i32, std::move(types)}},
      {"tokenizer.ggml.unknown_token_id", u32(0)},
      {"tokenizer.ggml.bos_token_id", u32(1)},
      {"tokenizer.ggml.eos_token_id", u32(2)},
      {"tokenizer.ggml.add_bos_token", flag(true)},
      {"tokenizer.ggml.add_eos_token", flag(false)},
  };
}

void synth_model(const SynthOptions& options) {
  const auto shape = synth_preset(options.preset);
  if (!shape) throw std::invalid_argument(fmt::format("unknown preset '{}' (tiny, small, 1b, 8b)", options.preset));
  Metadata tokenizer = tokenizer_metadata(options);
  const auto vocab = uint32_t(find(tokenizer, "tokenizer.ggml.tokens")->as_array()->size());
  const SynthShape& s = *shape;
  const uint32_t head_dim = s.embedding_dim / s.n_heads;

  Metadata metadata{
      {"general.architecture", text("llama")},
      {"general.name", text(fmt::format("ringserve synth {} {} (random weights, seed {})", s.preset,
                                        info(options.type).name, options.seed))},
      {"general.file_type", u32(file_type(options.type))},
      {"general.quantization_version", u32(2)},
      {"llama.vocab_size", u32(vocab)},
      {"llama.context_length", u32(s.context_length)},
      {"llama.embedding_length", u32(s.embedding_dim)},
      {"llama.block_count", u32(s.n_layers)},
      {"llama.feed_forward_length", u32(s.ffn_dim)},
      {"llama.rope.dimension_count", u32(head_dim)},
      {"llama.attention.head_count", u32(s.n_heads)},
      {"llama.attention.head_count_kv", u32(s.n_kv_heads)},
      {"llama.attention.layer_norm_rms_epsilon", f32(1e-5)},
      {"llama.rope.freq_base", f32(s.rope_freq_base)},
      {"ringserve.synth.seed", MetaValue{MetaType::u64, MetaType::u32, options.seed}},
  };
  for (auto& entry : tokenizer) metadata.push_back(std::move(entry));

  std::vector<GgufTensorOut> tensors;
  const auto add = [&](std::string name, std::vector<uint64_t> dims, bool is_norm) {
    const uint64_t stream = mix(options.seed ^ mix(tensors.size() + 1));
    // Variance 1/fan-in keeps activations of a random network in range.
    const WeightSpec spec{stream, is_norm ? 0.0f : std::sqrt(3.0f / float(dims[0]))};
    const TensorType type = is_norm ? TensorType::f32 : options.type;
    tensors.push_back({std::move(name), type, std::move(dims),
                       [spec, type](uint64_t offset, std::span<uint8_t> chunk) {
                         fill_tensor(spec, type, offset, chunk);
                       }});
  };
  ModelDesc desc;  // the shape the tensor table lays the tensors out by
  desc.vocab_size = vocab;
  desc.embedding_dim = s.embedding_dim;
  desc.n_layers = s.n_layers;
  desc.n_heads = s.n_heads;
  desc.n_kv_heads = s.n_kv_heads;
  desc.head_dim = head_dim;
  desc.ffn_dim = s.ffn_dim;
  for (ExpectedTensor& t : expected_tensors(desc)) {
    const bool is_norm = t.shape.size() == 1;  // untied, no biases: the only vectors are the norms
    add(std::move(t.name), std::move(t.shape), is_norm);
  }
  write_gguf(options.output, metadata, tensors);
}

}  // namespace rs::model
