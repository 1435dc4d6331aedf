// `synth --arch bert`: BERT-family encoders as llama.cpp's converter writes
// them, with random weights and a generated WordPiece vocabulary.
#include <fmt/format.h>

#include <stdexcept>
#include <vector>

#include "core/model/gguf_writer.h"
#include "core/model/model_error.h"
#include "core/model/synth.h"
#include "core/model/synth_writer.h"
#include "core/model/tensor_names.h"

namespace rs::model {
namespace {

using meta::f32;
using meta::flag;
using meta::i32;
using meta::text;
using meta::u32;

constexpr EncoderSynthShape kEncoderPresets[] = {
    {"tiny", 64, 2, 4, 128, 128, Pooling::mean},
    {"minilm", 384, 6, 12, 1536, 512, Pooling::mean},
    {"bge-small", 384, 12, 12, 1536, 512, Pooling::cls},
    {"bge-base", 768, 12, 12, 3072, 512, Pooling::cls},
};

constexpr std::string_view kWordStart = "\u2581";  // llama.cpp's mark of a word-initial WordPiece
constexpr uint32_t kTokenTypes = 2;                  // BERT's type_vocab_size: sentence A and B
constexpr uint32_t kMaxTokenTypes = 1024;            // a bound on the table written, far above any BERT's
constexpr std::string_view kTokenTypeCount = "tokenizer.ggml.token_type_count";
constexpr double kNormEps = 1e-12;                   // bge's and MiniLM's layer_norm_eps

// Token types as llama.cpp numbers them.
constexpr int32_t kNormal = 1;
constexpr int32_t kControl = 3;

// The special tokens' ids in wordpiece_vocabulary().
constexpr uint32_t kPad = 0, kUnknown = 1, kCls = 2, kSeparator = 3, kMask = 4;

Metadata wordpiece_tokenizer_metadata(const SynthOptions& options) {
  if (options.vocab_from.empty()) return wordpiece_vocabulary();
  Metadata tokenizer = synth::copied_tokenizer(options.vocab_from);
  const MetaValue* model = find(tokenizer, "tokenizer.ggml.model");
  const std::string* name = model ? model->as_string() : nullptr;
  if (!name || *name != "bert") {
    throw ModelError(fmt::format("{}: --vocab-from for a bert model needs a WordPiece vocabulary "
                                 "(tokenizer.ggml.model \"bert\"), not {:?}",
                                 options.vocab_from, name ? *name : std::string("none")));
  }
  if (!find(tokenizer, kTokenTypeCount)) tokenizer.emplace_back(kTokenTypeCount, u32(kTokenTypes));
  return tokenizer;
}

uint32_t token_types_of(const Metadata& tokenizer, const std::string& vocab_from) {
  const std::optional<uint64_t> count = find(tokenizer, kTokenTypeCount)->as_uint();
  if (!count || *count == 0 || *count > kMaxTokenTypes) {
    throw ModelError(fmt::format("{}: metadata key {} is not a count of token types", vocab_from, kTokenTypeCount));
  }
  return uint32_t(*count);
}

// As llama.cpp's converter stores BERT: vectors and the position and token type
// embeddings in f32, the other matrices in the type asked for.
TensorType stored_type(const ExpectedTensor& t, TensorType matrices) {
  const bool float_matrix = t.name == tensor_name(EncoderTensor::position_embedding) ||
                            t.name == tensor_name(EncoderTensor::token_types);
  return t.shape.size() == 1 || float_matrix ? TensorType::f32 : matrices;
}

// LayerNorm weights near 1 and biases near 0, not exactly: a test then sees them applied.
synth::Spread spread_of(const ExpectedTensor& t) {
  if (t.shape.size() == 2) return synth::fan_in_spread(t.shape[0]);
  return t.name.ends_with("norm.weight") ? synth::Spread{1.0f, 0.25f} : synth::Spread{0.0f, 0.1f};
}

}  // namespace

std::optional<EncoderSynthShape> encoder_synth_preset(std::string_view name) {
  for (const EncoderSynthShape& shape : kEncoderPresets) {
    if (shape.preset == name) return shape;
  }
  return std::nullopt;
}

Metadata wordpiece_vocabulary() {
  MetaArray tokens{text("[PAD]"), text("[UNK]"), text("[CLS]"), text("[SEP]"), text("[MASK]")};
  MetaArray types(tokens.size(), i32(kControl));
  const auto add = [&](const std::string& piece) {
    for (const std::string& token : {fmt::format("{}{}", kWordStart, piece), piece}) {
      tokens.push_back(text(token));
      types.push_back(i32(kNormal));
    }
  };
  for (char c = '!'; c <= '~'; ++c) add(std::string(1, c));
  for (char a = 'a'; a <= 'z'; ++a) {
    for (char b = 'a'; b <= 'z'; ++b) add({a, b});
  }
  // One letter triple in 16, chosen by a fixed hash: longer pieces, as a trained vocabulary has.
  for (uint32_t i = 0; i < 26 * 26 * 26; ++i) {
    if (synth::mix(i) % 16 == 0) add({char('a' + i / 676), char('a' + i / 26 % 26), char('a' + i % 26)});
  }
  return {
      {"tokenizer.ggml.model", text("bert")},
      {"tokenizer.ggml.tokens", MetaValue{MetaType::array, MetaType::string, std::move(tokens)}},
      {"tokenizer.ggml.token_type", MetaValue{MetaType::array, MetaType::i32, std::move(types)}},
      {std::string(kTokenTypeCount), u32(kTokenTypes)},
      {"tokenizer.ggml.unknown_token_id", u32(kUnknown)},
      {"tokenizer.ggml.seperator_token_id", u32(kSeparator)},  // sic: llama.cpp's spelling
      {"tokenizer.ggml.padding_token_id", u32(kPad)},
      {"tokenizer.ggml.cls_token_id", u32(kCls)},
      {"tokenizer.ggml.mask_token_id", u32(kMask)},
      // llama.cpp starts a WordPiece input with its BOS, 101 unless set: here that is [CLS].
      {"tokenizer.ggml.bos_token_id", u32(kCls)},
  };
}

namespace synth {

void synth_encoder(const SynthOptions& options) {
  const auto shape = encoder_synth_preset(options.preset);
  if (!shape) {
    throw std::invalid_argument(
        fmt::format("unknown bert preset '{}' (tiny, minilm, bge-small, bge-base)", options.preset));
  }
  if (options.type != TensorType::f32 && options.type != TensorType::f16 && options.type != TensorType::q8_0) {
    throw std::invalid_argument(
        fmt::format("a bert model's matrices are f32, f16 or q8_0, not {}", info(options.type).name));
  }
  const EncoderSynthShape& s = *shape;
  Metadata tokenizer = wordpiece_tokenizer_metadata(options);
  EncoderDesc desc;  // the shape the tensor table lays the tensors out by
  desc.vocab_size = uint32_t(find(tokenizer, "tokenizer.ggml.tokens")->as_array()->size());
  desc.embedding_dim = s.embedding_dim;
  desc.n_layers = s.n_layers;
  desc.n_heads = s.n_heads;
  desc.ffn_dim = s.ffn_dim;
  desc.context_length = s.context_length;
  desc.token_types = token_types_of(tokenizer, options.vocab_from);
  desc.pooling = options.pooling.value_or(s.pooling);

  Metadata metadata{
      {"general.architecture", text("bert")},
      {"general.name", text(fmt::format("ringserve synth bert {} {} (random weights, seed {})", s.preset,
                                        info(options.type).name, options.seed))},
      {"general.file_type", u32(file_type(options.type))},
      {"general.quantization_version", u32(2)},
      {"bert.context_length", u32(s.context_length)},
      {"bert.embedding_length", u32(s.embedding_dim)},
      {"bert.feed_forward_length", u32(s.ffn_dim)},
      {"bert.block_count", u32(s.n_layers)},
      {"bert.attention.head_count", u32(s.n_heads)},
      {"bert.attention.layer_norm_epsilon", f32(kNormEps)},
      {"bert.attention.causal", flag(false)},
      {"bert.pooling_type", u32(gguf_pooling_type(desc.pooling))},
      {"ringserve.synth.seed", MetaValue{MetaType::u64, MetaType::u32, options.seed}},
  };
  for (auto& entry : tokenizer) metadata.push_back(std::move(entry));

  std::vector<GgufTensorOut> tensors;
  for (ExpectedTensor& t : expected_tensors(desc)) {
    const TensorType type = stored_type(t, options.type);
    const Spread values = spread_of(t);
    tensors.push_back(random_tensor(options.seed, tensors.size(), std::move(t.name), std::move(t.shape), type, values));
  }
  write_gguf(options.output, metadata, tensors);
}

}  // namespace synth
}  // namespace rs::model
