#include "gpu/device_weights.h"

#include <fmt/format.h>

#include "core/model/model_error.h"
#include "core/model/quantize.h"
#include "core/model/rope_frequencies.h"
#include "core/model/tensor_names.h"
#include "gpu/cuda_check.h"
#include "gpu/matvec.h"

namespace rs::gpu {

using model::LayerTensor;
using model::ModelError;
using model::ModelTensor;
using model::TensorInfo;

DeviceWeights::DeviceWeights(model::ModelDesc desc, int device, const io::StreamOptions& options)
    : desc_(std::move(desc)) {
  images_ = stream_to_device(desc_.files, device, options, load_);
  token_embedding = matrix(tensor_name(ModelTensor::token_embedding));
  output = desc_.tied_embeddings ? token_embedding : matrix(tensor_name(ModelTensor::output));

  // Vectors are staged as offsets into host_vectors_ and become pointers after one upload.
  struct LayerVectors {
    int64_t attn_norm, ffn_norm, q_bias, k_bias, v_bias;
  };
  const int64_t output_norm_at = vector(tensor_name(ModelTensor::output_norm));
  std::vector<LayerVectors> layer_vectors;
  for (uint32_t l = 0; l < desc_.n_layers; ++l) {
    DeviceLayer& layer = layers.emplace_back();
    layer.q = matrix(tensor_name(LayerTensor::attn_q, l));
    layer.k = matrix(tensor_name(LayerTensor::attn_k, l));
    layer.v = matrix(tensor_name(LayerTensor::attn_v, l));
    layer.o = matrix(tensor_name(LayerTensor::attn_output, l));
    layer.gate = matrix(tensor_name(LayerTensor::ffn_gate, l));
    layer.up = matrix(tensor_name(LayerTensor::ffn_up, l));
    layer.down = matrix(tensor_name(LayerTensor::ffn_down, l));
    layer_vectors.push_back({vector(tensor_name(LayerTensor::attn_norm, l)),
                             vector(tensor_name(LayerTensor::ffn_norm, l)),
                             vector(tensor_name(LayerTensor::attn_q_bias, l), desc_.qkv_bias),
                             vector(tensor_name(LayerTensor::attn_k_bias, l), desc_.qkv_bias),
                             vector(tensor_name(LayerTensor::attn_v_bias, l), desc_.qkv_bias)});
  }
  std::vector<float> file_factors;
  if (const int64_t at = vector(tensor_name(ModelTensor::rope_freqs), false); at >= 0) {
    file_factors.assign(host_vectors_.begin() + at, host_vectors_.end());
  }
  const int64_t rope_at = int64_t(host_vectors_.size());
  const std::vector<float> inv_freq = model::rope_frequencies(desc_, file_factors);
  host_vectors_.insert(host_vectors_.end(), inv_freq.begin(), inv_freq.end());

  vectors_ = DeviceBuffer(host_vectors_.size() * sizeof(float));
  check(cudaMemcpy(vectors_.data(), host_vectors_.data(), vectors_.size(), cudaMemcpyHostToDevice),
        "cudaMemcpy of the model's vectors");
  const auto at = [&](int64_t offset) { return offset < 0 ? nullptr : vectors_.as<float>() + offset; };
  output_norm = at(output_norm_at);
  rope_inv_freq = at(rope_at);
  for (size_t l = 0; l < layers.size(); ++l) {
    const LayerVectors& v = layer_vectors[l];
    layers[l].attn_norm = at(v.attn_norm);
    layers[l].ffn_norm = at(v.ffn_norm);
    layers[l].q_bias = at(v.q_bias);
    layers[l].k_bias = at(v.k_bias);
    layers[l].v_bias = at(v.v_bias);
  }
  host_vectors_ = {};
}

uint64_t DeviceWeights::device_bytes() const {
  uint64_t bytes = vectors_.size();
  for (uint32_t f = 0; f < images_.files(); ++f) bytes += images_.size(f);
  for (const DeviceBuffer& b : permuted_) bytes += b.size();
  return bytes;
}

uint64_t DeviceWeights::bytes_per_step() const {
  uint64_t bytes = output.bytes();
  for (const DeviceLayer& l : layers) {
    for (const DeviceMatrix* m : {&l.q, &l.k, &l.v, &l.o, &l.gate, &l.up, &l.down}) bytes += m->bytes();
  }
  return bytes;
}

const TensorInfo& DeviceWeights::tensor(const std::string& name) const {
  const TensorInfo* t = desc_.tensor(name);
  if (t == nullptr) throw ModelError(fmt::format("{}: tensor {} is missing", desc_.files.at(0), name));
  if (t->offset + t->bytes > images_.size(t->file)) {
    throw ModelError(fmt::format("{}: tensor {} ends past the end of the file", desc_.files.at(t->file), name));
  }
  return *t;
}

DeviceMatrix DeviceWeights::matrix(const std::string& name) {
  const TensorInfo& t = tensor(name);
  if (t.shape.size() != 2) throw ModelError(fmt::format("{}: tensor {} is not a matrix", desc_.files.at(0), name));
  if (!matvec_reads(t.type)) {
    throw ModelError(fmt::format("{}: tensor {} is {}, which the CUDA kernels do not read (f32, f16, bf16, q8_0, "
                                 "q4_0, q4_K, q6_K); run it with --device cpu",
                                 desc_.files.at(t.file), name, model::info(t.type).name));
  }
  DeviceMatrix m{t.type, images_.image(t.file) + t.offset, size_t(t.shape[1]), size_t(t.shape[0]), 0};
  m.row_bytes = size_t(t.bytes / m.rows);
  if (t.rope_permute_heads != 0) {
    // Within each head of 2 * half rows, row 2j + s comes from row s * half + j: two strided copies per head.
    const size_t head_rows = m.rows / t.rope_permute_heads, half = head_rows / 2;
    DeviceBuffer& copy = permuted_.emplace_back(t.bytes);
    for (size_t h = 0; h < t.rope_permute_heads; ++h) {
      for (size_t s = 0; s < 2; ++s) {
        std::byte* to = copy.data() + (h * head_rows + s) * m.row_bytes;
        const std::byte* from = m.data + (h * head_rows + s * half) * m.row_bytes;
        check(cudaMemcpy2D(to, 2 * m.row_bytes, from, m.row_bytes, m.row_bytes, half, cudaMemcpyDeviceToDevice),
              "cudaMemcpy2D reordering " + name);
      }
    }
    m.data = copy.data();
  }
  return m;
}

int64_t DeviceWeights::vector(const std::string& name, bool required) {
  const TensorInfo* t = desc_.tensor(name);
  if (t == nullptr) {
    if (required) tensor(name);  // throws, naming it
    return -1;
  }
  tensor(name);  // checks its extent
  std::vector<std::byte> bytes(t->bytes);
  images_.copy_to_host(t->file, t->offset, bytes);
  std::vector<float> values(t->elements());
  model::dequantize_row(t->type, bytes.data(), values.data(), values.size());
  const int64_t offset = int64_t(host_vectors_.size());
  for (size_t i = 0; i < values.size(); ++i) {
    const size_t from = t->rope_permute_heads ? model::rope_permuted_source_row(i, values.size(), t->rope_permute_heads)
                                              : i;  // a bias: one value per row
    host_vectors_.push_back(values[from]);
  }
  return offset;
}

}  // namespace rs::gpu
