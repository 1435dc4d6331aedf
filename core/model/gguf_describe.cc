#include "core/model/gguf_describe.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <filesystem>
#include <limits>
#include <unordered_map>

#include "core/model/tensor_names.h"

namespace rs::model {
namespace {

constexpr std::string_view kArchitectures[] = {"llama", "mistral", "qwen2"};

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
  if (std::find(std::begin(kArchitectures), std::end(kArchitectures), *name) == std::end(kArchitectures)) {
    throw ModelError(fmt::format("{}: architecture {:?} is not supported (llama, mistral or qwen2)", path,
                                 name->substr(0, 80)));
  }
  return *name;
}

void read_dimensions(const ArchitectureKeys& keys, ModelDesc& desc) {
  desc.embedding_dim = keys.count("embedding_length");
  desc.n_layers = keys.count("block_count");
  desc.n_heads = keys.count("attention.head_count");
  desc.n_kv_heads = keys.count_or("attention.head_count_kv", desc.n_heads);
  desc.ffn_dim = keys.count("feed_forward_length");
  desc.context_length = keys.count("context_length");
  desc.norm_eps = keys.number("attention.layer_norm_rms_epsilon");
  if (!keys.find_key("rope.dimension_count") && desc.embedding_dim % desc.n_heads != 0) {
    keys.fail("attention.head_count", fmt::format("{} heads do not divide {} ({})", desc.n_heads,
                                                  keys.key("embedding_length"), desc.embedding_dim));
  }
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

uint32_t vocab_size_of(const ArchitectureKeys& keys, const ModelDesc& desc, std::string_view path) {
  if (keys.find_key("vocab_size")) return keys.count("vocab_size");
  const MetaValue* tokens = find(desc.metadata, "tokenizer.ggml.tokens");
  if (const MetaArray* array = tokens ? tokens->as_array() : nullptr) {
    return static_cast<uint32_t>(array->size());
  }
  const std::string embedding_name = tensor_name(ModelTensor::token_embedding);
  const TensorInfo* embedding = desc.tensor(embedding_name);
  if (embedding && embedding->shape.size() == 2 &&
      embedding->shape[1] <= std::numeric_limits<uint32_t>::max()) {
    return static_cast<uint32_t>(embedding->shape[1]);
  }
  throw ModelError(
      fmt::format("{}: no vocabulary size: no {}, tokenizer.ggml.tokens or 2-D {}", path,
                  keys.key("vocab_size"), embedding_name));
}

// Checks that every tensor the architecture needs is there with its shape; the
// first one missing or mis-shaped is the error.
class TensorChecker {
 public:
  TensorChecker(const ModelDesc& desc, std::string_view path) : path_(path) {
    for (const TensorInfo& tensor : desc.tensors) by_name_.emplace(tensor.name, &tensor);
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

void check_tensors(const ModelDesc& desc, std::string_view path) {
  const TensorChecker checker(desc, path);
  for (const ExpectedTensor& t : expected_tensors(desc)) checker.expect(t.name, t.shape);
}

}  // namespace

ModelDesc describe_gguf(const GgufFile& gguf, const std::string& path) {
  ModelDesc desc;
  desc.architecture = architecture_of(gguf.metadata, path);
  desc.files = {path};
  desc.tensors = gguf.tensors;
  desc.metadata = gguf.metadata;
  const MetaValue* name = find(desc.metadata, "general.name");
  desc.name = name && name->as_string() ? *name->as_string() : std::filesystem::path(path).stem().string();

  const ArchitectureKeys keys(desc.metadata, path, desc.architecture);
  read_dimensions(keys, desc);
  read_rope(keys, desc);
  desc.vocab_size = vocab_size_of(keys, desc, path);
  desc.tied_embeddings = desc.tensor(tensor_name(ModelTensor::output)) == nullptr;
  desc.qkv_bias = desc.tensor(tensor_name(LayerTensor::attn_q_bias, 0)) != nullptr;
  check_tensors(desc, path);
  return desc;
}

}  // namespace rs::model
