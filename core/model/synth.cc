#include "core/model/synth.h"

#include <fmt/format.h>

#include <stdexcept>
#include <vector>

#include "core/model/gguf_writer.h"
#include "core/model/synth_writer.h"
#include "core/model/tensor_names.h"

namespace rs::model {
namespace {

constexpr SynthShape kPresets[] = {
    {"tiny", 64, 2, 4, 2, 192, 2048, 10000.0f},
    {"small", 256, 4, 8, 4, 768, 4096, 10000.0f},
    {"1b", 2048, 16, 32, 8, 8192, 8192, 500000.0f},
    {"8b", 4096, 32, 32, 8, 14336, 8192, 500000.0f},
};

using meta::f32;
using meta::flag;
using meta::i32;
using meta::text;
using meta::u32;

Metadata tokenizer_metadata(const SynthOptions& options) {
  return options.vocab_from.empty() ? byte_vocabulary() : synth::copied_tokenizer(options.vocab_from);
}

void synth_llama(const SynthOptions& options) {
  const auto shape = synth_preset(options.preset);
  if (!shape) throw std::invalid_argument(fmt::format("unknown preset '{}' (tiny, small, 1b, 8b)", options.preset));
  if (options.pooling) throw std::invalid_argument("a pooling is for encoders (--arch bert), not llama");
  Metadata tokenizer = tokenizer_metadata(options);
  const auto vocab = uint32_t(find(tokenizer, "tokenizer.ggml.tokens")->as_array()->size());
  const SynthShape& s = *shape;
  const uint32_t head_dim = s.embedding_dim / s.n_heads;

  Metadata metadata{
      {"general.architecture", text("llama")},
      {"general.name", text(fmt::format("ringserve synth {} {} (random weights, seed {})", s.preset,
                                        info(options.type).name, options.seed))},
      {"general.file_type", u32(synth::file_type(options.type))},
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

  ModelDesc desc;  // the shape the tensor table lays the tensors out by
  desc.vocab_size = vocab;
  desc.embedding_dim = s.embedding_dim;
  desc.n_layers = s.n_layers;
  desc.n_heads = s.n_heads;
  desc.n_kv_heads = s.n_kv_heads;
  desc.head_dim = head_dim;
  desc.ffn_dim = s.ffn_dim;
  std::vector<GgufTensorOut> tensors;
  for (ExpectedTensor& t : expected_tensors(desc)) {
    const bool is_norm = t.shape.size() == 1;  // untied, no biases: the only vectors are the norms
    const synth::Spread values = is_norm ? synth::Spread{1.0f, 0.0f} : synth::fan_in_spread(t.shape[0]);
    tensors.push_back(synth::random_tensor(options.seed, tensors.size(), std::move(t.name), std::move(t.shape),
                                           is_norm ? TensorType::f32 : options.type, values));
  }
  write_gguf(options.output, metadata, tensors);
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
  MetaArray types{i32(2), i32(3), i32(3), i32(1)};
  for (int byte = 0; byte < 256; ++byte) {
    tokens.push_back(text(fmt::format("<0x{:02X}>", byte)));
    types.push_back(i32(6));
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
  switch (options.architecture) {
    case SynthArchitecture::llama: return synth_llama(options);
    case SynthArchitecture::bert: return synth::synth_encoder(options);
  }
}

}  // namespace rs::model
