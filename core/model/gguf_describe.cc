#include "core/model/gguf_describe.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <filesystem>
#include <limits>
#include <span>
#include <unordered_map>

#include "core/model/tensor_names.h"

namespace rs::model {
namespace {

constexpr std::string_view kGgufArchitectures[] = {"llama", "mistral", "qwen2"};
constexpr std::string_view kEncoderArchitectures[] = {"bert"};

bool is_one_of(const std::string& name, std::span<const std::string_view> names) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

std::string shown(const MetaValue& value) {
  if (const std::optional<int64_t> i = value.as_int()) return std::to_string(*i);
  if (const std::optional<uint64_t> u = value.as_uint()) return std::to_string(*u);
  return fmt::format("a {}", meta_type_name(value.type));
}

// Typed reads of the `{architecture}.…` keys; errors name the file and the key.
class ArchitectureKeys {
 public:
  ArchitectureKeys(const Metadata& metadata, std::string_view path, std::string_view architecture)
      : metadata_(metadata), path_(path), prefix_(fmt::format("{}.", architecture)) {}

  std::string_view path() const { return path_; }
  std::string key(std::string_view suffix) const { return prefix_ + std::string(suffix); }
  const MetaValue* find_key(std::string_view suffix) const { return find(metadata_, key(suffix)); }

  uint32_t count(std::string_view suffix) const { return count_value(suffix, required(suffix)); }
  uint32_t count_or(std::string_view suffix, uint32_t fallback) const {
    const MetaValue* value = find_key(suffix);
    return value ? count_value(suffix, *value) : fallback;
  }
  float number(std::string_view suffix) const { return number_value(suffix, required(suffix)); }
  float number_or(std::string_view suffix, float fallback) const {
    const MetaValue* value = find_key(suffix);
    return value ? number_value(suffix, *value) : fallback;
  }

  [[noreturn]] void fail(std::string_view suffix, std::string_view detail) const {
    throw ModelError(fmt::format("{}: metadata key {}: {}", path_, key(suffix), detail));
  }

 private:
  const MetaValue& required(std::string_view suffix) const {
    const MetaValue* value = find_key(suffix);
    if (!value) throw ModelError(fmt::format("{}: missing metadata key {}", path_, key(suffix)));
    return *value;
  }
  uint32_t count_value(std::string_view suffix, const MetaValue& value) const {
    const std::optional<uint64_t> u = value.as_uint();
    if (!u || *u == 0 || *u > std::numeric_limits<uint32_t>::max()) {
      fail(suffix, fmt::format("{} is not a positive 32-bit integer", shown(value)));
    }
    return static_cast<uint32_t>(*u);
  }
  float number_value(std::string_view suffix, const MetaValue& value) const {
    const std::optional<double> d = value.as_float();
    if (!d || !(*d > 0 && *d <= std::numeric_limits<float>::max())) {
      fail(suffix, fmt::format("{} is not a positive number", d ? fmt::format("{}", *d) : shown(value)));
    }
    return static_cast<float>(*d);
  }

  const Metadata& metadata_;
  std::string_view path_;
  std::string prefix_;
};

std::string architecture_of(const Metadata& metadata, std::string_view path) {
  const MetaValue* value = find(metadata, "general.architecture");
  const std::string* name = value ? value->as_string() : nullptr;
  if (!name) throw ModelError(fmt::format("{}: missing metadata key general.architecture (a string)", path));
  return *name;
}

std::string name_of(const Metadata& metadata, std::string_view path) {
  const MetaValue* name = find(metadata, "general.name");
  return name && name->as_string() ? *name->as_string() : std::filesystem::path(path).stem().string();
}

// Without its own head dim, a head is embedding_length / head_count wide.
void check_heads_divide(const ArchitectureKeys& keys, uint32_t heads, uint32_t embedding_dim) {
  if (embedding_dim % heads != 0) {
    keys.fail("attention.head_count",
              fmt::format("{} heads do not divide {} ({})", heads, keys.key("embedding_length"), embedding_dim));
  }
}

void read_dimensions(const ArchitectureKeys& keys, ModelDesc& desc) {
  desc.embedding_dim = keys.count("embedding_length");
  desc.n_layers = keys.count("block_count");
  desc.n_heads = keys.count("attention.head_count");
  desc.n_kv_heads = keys.count_or("attention.head_count_kv", desc.n_heads);
  desc.ffn_dim = keys.count("feed_forward_length");
  desc.context_length = keys.count("context_length");
  desc.norm_eps = keys.number("attention.layer_norm_rms_epsilon");
  if (!keys.find_key("rope.dimension_count")) check_heads_divide(keys, desc.n_heads, desc.embedding_dim);
  desc.head_dim = keys.count_or("rope.dimension_count", desc.embedding_dim / desc.n_heads);
  if (desc.n_heads % desc.n_kv_heads != 0) {
    keys.fail("attention.head_count_kv",
              fmt::format("{} kv heads do not divide {} heads", desc.n_kv_heads, desc.n_heads));
  }
  if (desc.head_dim % 2 != 0) {
    keys.fail("rope.dimension_count",
              fmt::format("head dim {} is odd, but RoPE rotates pairs", desc.head_dim));
  }
}

RopeScaling rope_scaling_of(const ArchitectureKeys& keys) {
  const MetaValue* value = keys.find_key("rope.scaling.type");
  if (!value) return RopeScaling::none;
  const std::string* type = value->as_string();
  if (type && *type == "none") return RopeScaling::none;
  if (type && *type == "linear") return RopeScaling::linear;
  if (type && *type == "llama3") return RopeScaling::llama3;
  keys.fail("rope.scaling.type", "supported are \"none\", \"linear\" and \"llama3\"");
}

void read_rope(const ArchitectureKeys& keys, ModelDesc& desc) {
  // GGUF stores llama/mistral Q and K permuted for adjacent pairs; qwen2 keeps Hugging Face's halves.
  desc.rope_layout = desc.architecture == "qwen2" ? RopeLayout::halves : RopeLayout::adjacent_pairs;
  desc.rope_freq_base = keys.number_or("rope.freq_base", desc.rope_freq_base);
  desc.rope_scaling = rope_scaling_of(keys);
  if (desc.rope_scaling == RopeScaling::none) return;
  desc.rope_scale_factor = keys.number_or("rope.scaling.factor", desc.rope_scale_factor);
  if (desc.rope_scaling != RopeScaling::llama3) return;
  desc.rope_low_freq_factor = keys.number_or("rope.scaling.low_freq_factor", desc.rope_low_freq_factor);
  desc.rope_high_freq_factor = keys.number_or("rope.scaling.high_freq_factor", desc.rope_high_freq_factor);
  desc.rope_original_context =
      keys.count_or("rope.scaling.original_context_length", desc.rope_original_context);
}

// `{arch}.vocab_size`, else the number of tokenizer.ggml.tokens, else token_embd's rows.
uint32_t vocab_size_of(const ArchitectureKeys& keys, const Metadata& metadata, const TensorInfo* embedding,
                       std::string_view path) {
  if (keys.find_key("vocab_size")) return keys.count("vocab_size");
  const MetaValue* tokens = find(metadata, "tokenizer.ggml.tokens");
  if (const MetaArray* array = tokens ? tokens->as_array() : nullptr) {
    return static_cast<uint32_t>(array->size());
  }
  if (embedding && embedding->shape.size() == 2 &&
      embedding->shape[1] <= std::numeric_limits<uint32_t>::max()) {
    return static_cast<uint32_t>(embedding->shape[1]);
  }
  throw ModelError(fmt::format("{}: no vocabulary size: no {}, tokenizer.ggml.tokens or 2-D {}", path,
                               keys.key("vocab_size"), tensor_name(ModelTensor::token_embedding)));
}

// Checks that every tensor the architecture needs is there with its shape; the
// first one missing or mis-shaped is the error.
class TensorChecker {
 public:
  TensorChecker(const std::vector<TensorInfo>& tensors, std::string_view path) : path_(path) {
    for (const TensorInfo& tensor : tensors) by_name_.emplace(tensor.name, &tensor);
  }

  void expect(const std::string& name, const std::vector<uint64_t>& shape) const {
    const auto found = by_name_.find(name);
    if (found == by_name_.end()) {
      throw ModelError(
          fmt::format("{}: missing tensor {} (expected shape [{}])", path_, name, fmt::join(shape, ", ")));
    }
    if (found->second->shape != shape) {
      throw ModelError(fmt::format("{}: tensor {} has shape [{}], expected [{}]", path_, name,
                                   fmt::join(found->second->shape, ", "), fmt::join(shape, ", ")));
    }
  }

 private:
  std::string_view path_;
  std::unordered_map<std::string_view, const TensorInfo*> by_name_;
};

void check_tensors(const std::vector<TensorInfo>& tensors, const std::vector<ExpectedTensor>& expected,
                   std::string_view path) {
  const TensorChecker checker(tensors, path);
  for (const ExpectedTensor& t : expected) checker.expect(t.name, t.shape);
}

// The encoder's pooling from `{arch}.pooling_type`: mean or CLS; the others give no sentence vector here.
Pooling pooling_of(const ArchitectureKeys& keys) {
  const MetaValue* value = keys.find_key("pooling_type");
  if (!value) {
    throw ModelError(fmt::format("{}: missing metadata key {} (1: mean or 2: cls pooling)", keys.path(),
                                 keys.key("pooling_type")));
  }
  const std::optional<uint64_t> type = value->as_uint();
  const std::optional<Pooling> pooling = type ? pooling_from_gguf(*type) : std::nullopt;
  if (!pooling) {
    keys.fail("pooling_type", fmt::format("{} is not a pooling an encoder runs: supported are 1 (mean) and 2 (cls), "
                                          "not 0 (none), 3 (last) or 4 (rank)",
                                          shown(*value)));
  }
  return *pooling;
}

// How many segment embeddings (BERT's type_vocab_size) token_types.weight holds: llama.cpp keeps
// the count with the tokenizer.
uint32_t token_types_of(const Metadata& metadata, std::string_view path) {
  constexpr std::string_view kKey = "tokenizer.ggml.token_type_count";
  const MetaValue* value = find(metadata, kKey);
  if (!value) throw ModelError(fmt::format("{}: missing metadata key {} (token_types.weight's rows)", path, kKey));
  const std::optional<uint64_t> count = value->as_uint();
  if (!count || *count == 0 || *count > std::numeric_limits<uint32_t>::max()) {
    throw ModelError(fmt::format("{}: metadata key {}: {} is not a positive 32-bit integer", path, kKey,
                                 shown(*value)));
  }
  return uint32_t(*count);
}

// Every layer has tensors of its own: a block_count beyond the file's tensors is damage, refused before
// the expected tensors' names are made for billions of layers.
void check_layer_count(const ArchitectureKeys& keys, uint32_t layers, size_t tensors) {
  if (layers > tensors) {
    keys.fail("block_count", fmt::format("{} layers, but the file holds only {} tensors", layers, tensors));
  }
}

}  // namespace

ModelDesc describe_gguf(const GgufFile& gguf, const std::string& path) {
  ModelDesc desc;
  desc.architecture = architecture_of(gguf.metadata, path);
  if (is_one_of(desc.architecture, kEncoderArchitectures)) {
    throw ModelError(fmt::format("{}: architecture {:?} is a sentence-embedding encoder: it makes embeddings, "
                                 "not text, so it cannot run as a language model (llama, mistral or qwen2)",
                                 path, desc.architecture));
  }
  if (!is_one_of(desc.architecture, kGgufArchitectures)) {
    throw ModelError(fmt::format("{}: architecture {:?} is not supported (llama, mistral or qwen2)", path,
                                 desc.architecture.substr(0, 80)));
  }
  desc.files = {path};
  desc.tensors = gguf.tensors;
  desc.metadata = gguf.metadata;
  desc.name = name_of(desc.metadata, path);

  const ArchitectureKeys keys(desc.metadata, path, desc.architecture);
  read_dimensions(keys, desc);
  read_rope(keys, desc);
  desc.vocab_size =
      vocab_size_of(keys, desc.metadata, desc.tensor(tensor_name(ModelTensor::token_embedding)), path);
  desc.tied_embeddings = desc.tensor(tensor_name(ModelTensor::output)) == nullptr;
  desc.qkv_bias = desc.tensor(tensor_name(LayerTensor::attn_q_bias, 0)) != nullptr;
  check_layer_count(keys, desc.n_layers, desc.tensors.size());
  check_tensors(desc.tensors, expected_tensors(desc), path);
  return desc;
}

EncoderDesc describe_encoder_gguf(const GgufFile& gguf, const std::string& path) {
  EncoderDesc desc;
  desc.architecture = architecture_of(gguf.metadata, path);
  if (!is_one_of(desc.architecture, kEncoderArchitectures)) {
    throw ModelError(fmt::format("{}: architecture {:?} is not a sentence-embedding encoder (bert)", path,
                                 desc.architecture.substr(0, 80)));
  }
  desc.files = {path};
  desc.tensors = gguf.tensors;
  desc.metadata = gguf.metadata;
  desc.name = name_of(desc.metadata, path);

  const ArchitectureKeys keys(desc.metadata, path, desc.architecture);
  desc.embedding_dim = keys.count("embedding_length");
  desc.n_layers = keys.count("block_count");
  desc.n_heads = keys.count("attention.head_count");
  desc.ffn_dim = keys.count("feed_forward_length");
  desc.context_length = keys.count("context_length");
  desc.norm_eps = keys.number("attention.layer_norm_epsilon");
  check_heads_divide(keys, desc.n_heads, desc.embedding_dim);
  desc.head_dim = desc.embedding_dim / desc.n_heads;
  // Absent, BERT's own bidirectional attention; causal attention would be another model.
  if (const MetaValue* causal = keys.find_key("attention.causal"); causal && causal->as_bool() != false) {
    keys.fail("attention.causal", "an encoder attends both ways: it must be false");
  }
  desc.pooling = pooling_of(keys);
  desc.token_types = token_types_of(desc.metadata, path);
  desc.vocab_size =
      vocab_size_of(keys, desc.metadata, desc.tensor(tensor_name(EncoderTensor::token_embedding)), path);
  check_layer_count(keys, desc.n_layers, desc.tensors.size());
  check_tensors(desc.tensors, expected_tensors(desc), path);
  return desc;
}

}  // namespace rs::model
