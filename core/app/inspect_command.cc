// `ringserve inspect`: what a model file holds — parameters, metadata, tensors.
#include <fmt/format.h>

#include <filesystem>
#include <optional>

#include "core/app/command.h"
#include "core/base/json_write.h"
#include "core/base/log.h"
#include "core/model/gguf_describe.h"
#include "core/model/gguf_reader.h"
#include "core/model/safetensors_reader.h"

namespace rs {
namespace {

constexpr size_t kArrayHead = 8;  // array items shown before "…"

struct Inspection {
  std::string format;  // "gguf" or "safetensors"
  std::optional<model::GgufFile> gguf;
  std::optional<model::ModelDesc> desc;
  std::string not_a_model;  // why describe failed (vocab-only GGUFs)
};

Inspection inspect(const std::string& path) {
  Inspection result;
  namespace fs = std::filesystem;
  if (fs::is_directory(path) || path.ends_with(".safetensors")) {
    result.format = "safetensors";
    result.desc = model::read_safetensors_model(path);
    return result;
  }
  result.format = "gguf";
  result.gguf = model::read_gguf(path);
  try {
    result.desc = model::describe_gguf(*result.gguf, path);
  } catch (const model::ModelError& e) {
    result.not_a_model = e.what();
  }
  return result;
}

std::string shape_text(const std::vector<uint64_t>& shape) {
  return fmt::format("[{}]", fmt::join(shape, ", "));
}

void append_value(std::string& out, const model::MetaValue& v, bool json) {
  using model::MetaType;
  if (const auto* s = v.as_string()) {
    json ? json::append_string(out, *s) : (void)out.append(json::quote(*s));
  } else if (const auto b = v.as_bool()) {
    out.append(*b ? "true" : "false");
  } else if (const auto* items = v.as_array()) {
    const std::string_view element = model::meta_type_name(v.element_type);
    if (json) fmt::format_to(std::back_inserter(out), R"({{"type":"array","element_type":"{}","length":{},"head":[)", element, items->size());
    else fmt::format_to(std::back_inserter(out), "[{} × {}] ", element, items->size());
    for (size_t i = 0; i < std::min(items->size(), kArrayHead); ++i) {
      if (i > 0) out.append(", ");
      append_value(out, (*items)[i], json);
    }
    if (json) out.append("]}");
    else if (items->size() > kArrayHead) out.append(", …");
  } else if (v.type == MetaType::f32) {
    fmt::format_to(std::back_inserter(out), "{}", float(*v.as_float()));  // shortest float text: 1e-05
  } else if (v.type == MetaType::f64) {
    fmt::format_to(std::back_inserter(out), "{}", *v.as_float());
  } else if (const auto i = v.as_int()) {
    fmt::format_to(std::back_inserter(out), "{}", *i);
  } else {
    fmt::format_to(std::back_inserter(out), "{}", *v.as_uint());
  }
}

const std::vector<model::TensorInfo>& tensors_of(const Inspection& in) {
  return in.desc ? in.desc->tensors : in.gguf->tensors;
}

std::string rope_text(const model::ModelDesc& d) {
  return d.rope_layout == model::RopeLayout::adjacent_pairs ? "adjacent pairs" : "halves (neox)";
}

void print_text(const std::string& path, const Inspection& in) {
  std::string out;
  const auto& tensors = tensors_of(in);
  if (in.gguf) {
    fmt::format_to(std::back_inserter(out), "{}: GGUF v{}, {} tensors, {} metadata keys, alignment {}\n",
                   path, in.gguf->version, tensors.size(), in.gguf->metadata.size(), in.gguf->alignment);
  } else {
    fmt::format_to(std::back_inserter(out), "{}: safetensors, {} tensors in {} file(s)\n", path,
                   tensors.size(), in.desc->files.size());
  }
  if (const auto& d = in.desc) {
    fmt::format_to(std::back_inserter(out),
                   "architecture {}: vocab {}, embedding {}, layers {}, heads {} (kv {}, head dim {}), "
                   "ffn {}, context {}\nrope {} (base {}), norm eps {}, tied embeddings {}, qkv bias {}\n",
                   d->architecture, d->vocab_size, d->embedding_dim, d->n_layers, d->n_heads,
                   d->n_kv_heads, d->head_dim, d->ffn_dim, d->context_length, rope_text(*d),
                   d->rope_freq_base, d->norm_eps, d->tied_embeddings ? "yes" : "no",
                   d->qkv_bias ? "yes" : "no");
  } else {
    fmt::format_to(std::back_inserter(out), "not a complete model: {}\n", in.not_a_model);
  }
  const model::Metadata& metadata = in.gguf ? in.gguf->metadata : in.desc->metadata;
  out.append("metadata:\n");
  for (const auto& [key, value] : metadata) {
    out.append("  ").append(key).append(" = ");
    append_value(out, value, false);
    out.push_back('\n');
  }
  fmt::format_to(std::back_inserter(out), "tensors:\n  {:<32} {:<6} {:<22} {:>14} {:>12}\n", "name",
                 "type", "shape", "offset", "bytes");
  for (const auto& t : tensors) {
    fmt::format_to(std::back_inserter(out), "  {:<32} {:<6} {:<22} {:>14} {:>12}\n", t.name,
                   model::info(t.type).name, shape_text(t.shape), t.offset, t.bytes);
  }
  fmt::print("{}", out);
}

void print_json(const std::string& path, const Inspection& in) {
  std::string out = R"({"file":)";
  json::append_string(out, path);
  fmt::format_to(std::back_inserter(out), R"(,"format":"{}")", in.format);
  if (in.gguf) fmt::format_to(std::back_inserter(out), R"(,"version":{},"alignment":{})", in.gguf->version, in.gguf->alignment);
  if (const auto& d = in.desc) {
    out.append(R"(,"architecture":)");
    json::append_string(out, d->architecture);
    fmt::format_to(std::back_inserter(out),
                   R"(,"vocab_size":{},"embedding_dim":{},"n_layers":{},"n_heads":{},"n_kv_heads":{},)"
                   R"("head_dim":{},"ffn_dim":{},"context_length":{},"rope_layout":"{}","rope_freq_base":{},)"
                   R"("norm_eps":{},"tied_embeddings":{},"qkv_bias":{})",
                   d->vocab_size, d->embedding_dim, d->n_layers, d->n_heads, d->n_kv_heads, d->head_dim,
                   d->ffn_dim, d->context_length,
                   d->rope_layout == model::RopeLayout::adjacent_pairs ? "adjacent_pairs" : "halves",
                   d->rope_freq_base, d->norm_eps, d->tied_embeddings, d->qkv_bias);
  } else {
    out.append(R"(,"architecture":null,"not_a_model":)");
    json::append_string(out, in.not_a_model);
  }
  const auto& tensors = tensors_of(in);
  fmt::format_to(std::back_inserter(out), R"(,"n_tensors":{},"tensors":[)", tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    const auto& t = tensors[i];
    if (i > 0) out.push_back(',');
    out.append(R"({"name":)");
    json::append_string(out, t.name);
    fmt::format_to(std::back_inserter(out), R"(,"type":"{}","shape":[{}],"file":{},"offset":{},"bytes":{}}})",
                   model::info(t.type).name, fmt::join(t.shape, ","), t.file, t.offset, t.bytes);
  }
  out.append(R"(],"metadata":{)");
  const model::Metadata& metadata = in.gguf ? in.gguf->metadata : in.desc->metadata;
  for (size_t i = 0; i < metadata.size(); ++i) {
    if (i > 0) out.push_back(',');
    json::append_string(out, metadata[i].first);
    out.push_back(':');
    append_value(out, metadata[i].second, true);
  }
  out.append("}}\n");
  fmt::print("{}", out);
}

}  // namespace

Command add_inspect_command(CLI::App& app) {
  CLI::App& command = *app.add_subcommand(
      "inspect", "Show a model's architecture, metadata (long arrays abbreviated) and tensor table");
  auto path = std::make_shared<std::string>();
  auto as_json = std::make_shared<bool>(false);
  command.add_option("model", *path, "A .gguf file, a .safetensors file, or a Hugging Face model directory")
      ->required()
      ->check(CLI::ExistingPath);
  command.add_flag("--json", *as_json, "Print one JSON object instead of text");
  return {&command, [path, as_json] {
            try {
              const Inspection in = inspect(*path);
              *as_json ? print_json(*path, in) : print_text(*path, in);
              return 0;
            } catch (const std::exception& e) {
              log::error("{}", e.what());
              return 1;
            }
          }};
}

}  // namespace rs
