#include "core/model/hf_config.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <simdjson.h>

#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "core/model/model_error.h"

namespace rs::model {
namespace {

struct Architecture {
  std::string_view hf_class;  // architectures[0] in config.json
  std::string_view name;      // ModelDesc::architecture, as GGUF names it
  RopeLayout rope_layout;
  bool qkv_bias;
};

// llama.cpp's converter permutes Llama and Mistral Q/K rows for adjacent-pair
// RoPE (the loader does the same); Qwen2's it leaves in halves order.
constexpr Architecture kHfArchitectures[] = {
    {"LlamaForCausalLM", "llama", RopeLayout::adjacent_pairs, false},
    {"MistralForCausalLM", "mistral", RopeLayout::adjacent_pairs, false},
    {"Qwen2ForCausalLM", "qwen2", RopeLayout::halves, true},
};

// Typed fields of one JSON object; errors name the file and the key's path.
// Reads with a fallback treat the key as optional, without one as required.
class ConfigFields {
 public:
  ConfigFields(simdjson::dom::object object, std::string_view file, std::string prefix)
      : object_(object), file_(file), prefix_(std::move(prefix)) {}

  bool has(std::string_view key) const { return lookup(key).has_value(); }

  uint32_t positive_integer(std::string_view key, std::optional<uint32_t> fallback = {}) const {
    const std::optional<simdjson::dom::element> value = lookup(key);
    if (!value) return absent(key, fallback);
    uint64_t n = 0;
    if (value->get_uint64().get(n) != simdjson::SUCCESS || n == 0 ||
        n > std::numeric_limits<uint32_t>::max()) {
      throw invalid(key, "a positive 32-bit integer", *value);
    }
    return static_cast<uint32_t>(n);
  }

  float positive_number(std::string_view key, std::optional<float> fallback = {}) const {
    const std::optional<simdjson::dom::element> value = lookup(key);
    if (!value) return absent(key, fallback);
    double x = 0;
    if (value->get_double().get(x) != simdjson::SUCCESS || !(x > 0) ||
        x > std::numeric_limits<float>::max()) {
      throw invalid(key, "a positive number", *value);
    }
    return static_cast<float>(x);
  }

  bool flag(std::string_view key, bool fallback) const {
    const std::optional<simdjson::dom::element> value = lookup(key);
    if (!value) return fallback;
    bool b = false;
    if (value->get_bool().get(b) != simdjson::SUCCESS) throw invalid(key, "true or false", *value);
    return b;
  }

  std::string_view text(std::string_view key) const {
    const std::optional<simdjson::dom::element> value = lookup(key);
    if (!value) return absent<std::string_view>(key, {});
    std::string_view s;
    if (value->get_string().get(s) != simdjson::SUCCESS) throw invalid(key, "a string", *value);
    return s;
  }

  // The first string of a list, as Hugging Face reads "architectures".
  std::string_view first_text(std::string_view key) const {
    const std::optional<simdjson::dom::element> value = lookup(key);
    if (!value) return absent<std::string_view>(key, {});
    std::string_view s;
    if (value->at(0).get_string().get(s) != simdjson::SUCCESS) {
      throw invalid(key, "a non-empty list of strings", *value);
    }
    return s;
  }

  std::optional<ConfigFields> object(std::string_view key) const {
    const std::optional<simdjson::dom::element> value = lookup(key);
    if (!value) return std::nullopt;
    simdjson::dom::object fields;
    if (value->get_object().get(fields) != simdjson::SUCCESS) throw invalid(key, "an object or null", *value);
    return ConfigFields(fields, file_, path(key) + ".");
  }

 private:
  // A JSON null counts as absent: configs write `"head_dim": null` for "the default".
  std::optional<simdjson::dom::element> lookup(std::string_view key) const {
    simdjson::dom::element value;
    if (object_.at_key(key).get(value) != simdjson::SUCCESS || value.is_null()) return std::nullopt;
    return value;
  }

  template <typename T>
  T absent(std::string_view key, std::optional<T> fallback) const {
    if (!fallback) throw ModelError(fmt::format("{}: \"{}\" is missing", file_, path(key)));
    return *fallback;
  }

  ModelError invalid(std::string_view key, std::string_view expected, simdjson::dom::element value) const {
    return ModelError(
        fmt::format("{}: \"{}\" must be {}, not {}", file_, path(key), expected, simdjson::minify(value)));
  }

  std::string path(std::string_view key) const { return prefix_ + std::string(key); }

  simdjson::dom::object object_;
  std::string_view file_;
  std::string prefix_;  // "rope_scaling." for fields of that object
};

const Architecture& find_architecture(std::string_view hf_class, std::string_view file) {
  std::vector<std::string_view> supported;
  for (const Architecture& a : kHfArchitectures) {
    if (a.hf_class == hf_class) return a;
    supported.push_back(a.hf_class);
  }
  throw ModelError(fmt::format("{}: architecture {:?} is not supported ({} are)", file, hf_class,
                               fmt::join(supported, ", ")));
}

void read_rope_scaling(const ConfigFields& config, std::string_view file, ModelDesc& desc) {
  const std::optional<ConfigFields> scaling = config.object("rope_scaling");
  if (!scaling) return;
  // transformers ≥ 4.43 writes "rope_type"; older configs "type".
  const std::string_view type = scaling->text(scaling->has("rope_type") ? "rope_type" : "type");
  if (type == "default") return;  // transformers' name for "no scaling"
  if (type == "linear") {
    desc.rope_scaling = RopeScaling::linear;
    desc.rope_scale_factor = scaling->positive_number("factor");
  } else if (type == "llama3") {
    desc.rope_scaling = RopeScaling::llama3;
    desc.rope_scale_factor = scaling->positive_number("factor");
    desc.rope_low_freq_factor = scaling->positive_number("low_freq_factor");
    desc.rope_high_freq_factor = scaling->positive_number("high_freq_factor");
    desc.rope_original_context = scaling->positive_integer("original_max_position_embeddings");
    // llama3 scaling interpolates between the two wavelength bounds.
    if (desc.rope_high_freq_factor <= desc.rope_low_freq_factor) {
      throw ModelError(fmt::format("{}: rope_scaling high_freq_factor {} must exceed low_freq_factor {}",
                                   file, desc.rope_high_freq_factor, desc.rope_low_freq_factor));
    }
  } else {
    throw ModelError(
        fmt::format("{}: rope_scaling type {:?} is not supported (linear and llama3 are)", file, type));
  }
}

}  // namespace

ModelDesc parse_hf_config(std::string_view json, std::string_view file) {
  simdjson::dom::parser parser;
  simdjson::dom::object root;
  if (const auto error = parser.parse(json.data(), json.size()).get_object().get(root)) {
    throw ModelError(fmt::format("{}: not a JSON object ({})", file, simdjson::error_message(error)));
  }
  const ConfigFields config(root, file, "");
  const Architecture& architecture = find_architecture(config.first_text("architectures"), file);

  ModelDesc desc;
  desc.architecture = architecture.name;
  desc.rope_layout = architecture.rope_layout;
  desc.qkv_bias = architecture.qkv_bias;
  desc.embedding_dim = config.positive_integer("hidden_size");
  desc.n_layers = config.positive_integer("num_hidden_layers");
  desc.n_heads = config.positive_integer("num_attention_heads");
  desc.n_kv_heads = config.positive_integer("num_key_value_heads", desc.n_heads);
  desc.head_dim = config.positive_integer("head_dim", desc.embedding_dim / desc.n_heads);
  desc.ffn_dim = config.positive_integer("intermediate_size");
  desc.vocab_size = config.positive_integer("vocab_size");
  desc.context_length = config.positive_integer("max_position_embeddings");
  desc.norm_eps = config.positive_number("rms_norm_eps");
  desc.rope_freq_base = config.positive_number("rope_theta", 10000.0f);
  desc.tied_embeddings = config.flag("tie_word_embeddings", false);
  read_rope_scaling(config, file, desc);

  if (desc.n_heads % desc.n_kv_heads != 0) {
    throw ModelError(fmt::format("{}: num_attention_heads {} is not a multiple of num_key_value_heads {}",
                                 file, desc.n_heads, desc.n_kv_heads));
  }
  // RoPE rotates pairs of dimensions within a head.
  if (desc.head_dim == 0 || desc.head_dim % 2 != 0) {
    throw ModelError(fmt::format("{}: head_dim {} is not a positive even number", file, desc.head_dim));
  }
  return desc;
}

}  // namespace rs::model
