#include "core/cpu/model_weights.h"

#include <fmt/format.h>

#include <chrono>
#include <cstring>
#include <filesystem>

#include "core/base/log.h"
#include "core/model/gguf_describe.h"
#include "core/model/gguf_reader.h"
#include "core/model/model_error.h"
#include "core/model/quantize.h"
#include "core/model/rope_frequencies.h"
#include "core/model/safetensors_reader.h"
#include "core/model/tensor_names.h"

namespace rs::cpu {

using model::LayerTensor;
using model::ModelError;
using model::ModelTensor;
using model::TensorInfo;

void ModelWeights::move_to_huge_pages() const {
  const auto start = std::chrono::steady_clock::now();
  if (const uint64_t bytes = images_.collapse_to_huge_pages()) {
    log::info("weights moved to huge pages: {:.1f} MB in {:.0f} ms (decoding reads them with fewer TLB misses)",
              double(bytes) / 1e6, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  }
}

model::ModelDesc describe_model(const std::string& path) {
  namespace fs = std::filesystem;
  if (fs::is_directory(path) || fs::path(path).extension() == ".safetensors") {
    return model::read_safetensors_model(path);
  }
  return model::describe_gguf(model::read_gguf(path), path);
}

ModelWeights::ModelWeights(model::ModelDesc desc, const io::StreamOptions& options) : desc_(std::move(desc)) {
  io::stream_files(desc_.files, images_, options);
  const bool tied = desc_.tied_embeddings;
  token_embedding = matrix(tensor_name(ModelTensor::token_embedding));
  output = tied ? token_embedding : matrix(tensor_name(ModelTensor::output));
  output_norm = vector(tensor_name(ModelTensor::output_norm));
  for (uint32_t l = 0; l < desc_.n_layers; ++l) {
    LayerWeights layer;
    layer.attn_norm = vector(tensor_name(LayerTensor::attn_norm, l));
    layer.ffn_norm = vector(tensor_name(LayerTensor::ffn_norm, l));
    layer.q = matrix(tensor_name(LayerTensor::attn_q, l));
    layer.k = matrix(tensor_name(LayerTensor::attn_k, l));
    layer.v = matrix(tensor_name(LayerTensor::attn_v, l));
    layer.o = matrix(tensor_name(LayerTensor::attn_output, l));
    layer.q_bias = vector(tensor_name(LayerTensor::attn_q_bias, l), desc_.qkv_bias);
    layer.k_bias = vector(tensor_name(LayerTensor::attn_k_bias, l), desc_.qkv_bias);
    layer.v_bias = vector(tensor_name(LayerTensor::attn_v_bias, l), desc_.qkv_bias);
    layer.gate = matrix(tensor_name(LayerTensor::ffn_gate, l));
    layer.up = matrix(tensor_name(LayerTensor::ffn_up, l));
    layer.down = matrix(tensor_name(LayerTensor::ffn_down, l));
    layers.push_back(std::move(layer));
  }
  rope_inv_freq = model::rope_frequencies(desc_, vector(tensor_name(ModelTensor::rope_freqs), false));
}

const TensorInfo& ModelWeights::tensor(const std::string& name) const {
  const TensorInfo* t = desc_.tensor(name);
  if (t == nullptr) throw ModelError(fmt::format("{}: tensor {} is missing", desc_.files.at(0), name));
  return *t;
}

std::byte* ModelWeights::bytes_of(const TensorInfo& t) {
  const std::span<std::byte> image = images_.image(t.file);
  if (t.offset + t.bytes > image.size()) {
    throw ModelError(fmt::format("{}: tensor {} ends past the end of the file", desc_.files.at(t.file), t.name));
  }
  return image.data() + t.offset;
}

kernels::Matrix ModelWeights::matrix(const std::string& name) {
  const TensorInfo& t = tensor(name);
  if (t.shape.size() != 2) throw ModelError(fmt::format("{}: tensor {} is not a matrix", desc_.files.at(0), name));
  const size_t rows = t.shape[1], cols = t.shape[0], row_bytes = size_t(t.bytes / rows);
  std::byte* data = bytes_of(t);
  if (t.rope_permute_heads != 0) {
    auto& copy = permuted_.emplace_back(std::make_unique<std::byte[]>(t.bytes));
    for (uint64_t row = 0; row < rows; ++row) {
      const uint64_t from = model::rope_permuted_source_row(row, rows, t.rope_permute_heads);
      std::memcpy(copy.get() + row * row_bytes, data + from * row_bytes, row_bytes);
    }
    data = copy.get();
  }
  return kernels::prepare_matrix(t.type, data, rows, cols, row_bytes);
}

std::vector<float> ModelWeights::vector(const std::string& name, bool required) {
  const TensorInfo* t = desc_.tensor(name);
  if (t == nullptr) {
    if (required) tensor(name);  // throws, naming it
    return {};
  }
  std::vector<float> values(t->elements());
  model::dequantize_row(t->type, bytes_of(*t), values.data(), values.size());
  if (t->rope_permute_heads != 0) {  // a bias: one value per row
    std::vector<float> permuted(values.size());
    for (size_t i = 0; i < values.size(); ++i) {
      permuted[i] = values[model::rope_permuted_source_row(i, values.size(), t->rope_permute_heads)];
    }
    values = std::move(permuted);
  }
  return values;
}

}  // namespace rs::cpu
