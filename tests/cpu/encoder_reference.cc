#include "tests/cpu/encoder_reference.h"

#include <fmt/format.h>

#include <cmath>
#include <fstream>
#include <numbers>
#include <stdexcept>

#include "core/model/gguf_describe.h"
#include "core/model/gguf_reader.h"
#include "core/model/quantize.h"

namespace rs::cpu::testing {

namespace {

using Vector = std::vector<double>;

// A tensor's values in double, row after row (a row is shape[0] values), read from its file here.
struct Tensor {
  Vector values;
  size_t cols = 0;
  model::TensorType type = model::TensorType::f32;

  const double* row(size_t r) const { return &values[r * cols]; }
};

class Weights {
 public:
  Weights(const model::EncoderDesc& desc, const EncoderReferenceRounding& rounding)
      : desc_(desc), rounding_(rounding), file_(desc.files.at(0), std::ios::binary) {}

  Tensor tensor(const std::string& name) {
    const model::TensorInfo* t = desc_.tensor(name);
    if (!t) throw std::runtime_error("reference: no tensor " + name);
    std::vector<std::byte> bytes(t->bytes);
    file_.seekg(std::streamoff(t->offset));
    file_.read(reinterpret_cast<char*>(bytes.data()), std::streamsize(bytes.size()));
    if (!file_) throw std::runtime_error("reference: cannot read " + name);
    std::vector<float> values(t->elements());
    model::dequantize_row(t->type, bytes.data(), values.data(), values.size());
    return {Vector(values.begin(), values.end()), size_t(t->shape[0]), t->type};
  }
  Tensor layer_tensor(uint32_t layer, std::string_view name) { return tensor(fmt::format("blk.{}.{}", layer, name)); }

  // w · x + b, with x rounded as the weight type's dot product rounds it.
  Vector affine(const Tensor& w, const Tensor& b, const Vector& exact_x) const {
    const Vector x = rounding_.activations && w.type == model::TensorType::q8_0 ? q8_0_round_trip(exact_x) : exact_x;
    Vector y(b.values);
    for (size_t r = 0; r < y.size(); ++r) {
      for (size_t c = 0; c < x.size(); ++c) y[r] += w.row(r)[c] * x[c];
    }
    return y;
  }

 private:
  static Vector q8_0_round_trip(const Vector& x) {
    std::vector<float> values(x.begin(), x.end());
    std::vector<std::byte> stored(*model::tensor_bytes(model::TensorType::q8_0, values.size()));
    model::quantize_row(model::TensorType::q8_0, values.data(), stored.data(), values.size());
    model::dequantize_row(model::TensorType::q8_0, stored.data(), values.data(), values.size());
    return Vector(values.begin(), values.end());
  }

  const model::EncoderDesc& desc_;
  EncoderReferenceRounding rounding_;
  std::ifstream file_;
};

Vector layer_norm(const Vector& x, const Tensor& weight, const Tensor& bias, double eps) {
  double mean = 0;
  for (const double v : x) mean += v;
  mean /= double(x.size());
  double variance = 0;
  for (const double v : x) variance += (v - mean) * (v - mean);
  variance /= double(x.size());
  Vector y(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    y[i] = (x[i] - mean) / std::sqrt(variance + eps) * weight.values[i] + bias.values[i];
  }
  return y;
}

double gelu_tanh(double x) {
  return 0.5 * x * (1 + std::tanh(std::sqrt(2 / std::numbers::pi) * (x + 0.044715 * x * x * x)));
}

Vector add(Vector a, const Vector& b) {
  for (size_t i = 0; i < a.size(); ++i) a[i] += b[i];
  return a;
}

// softmax(q_i · k_j / sqrt(head_dim)) over all j of the input, per head, times v.
std::vector<Vector> attention(const std::vector<Vector>& q, const std::vector<Vector>& k,
                              const std::vector<Vector>& v, size_t heads) {
  const size_t n = q.size(), hd = q[0].size() / heads;
  std::vector<Vector> out(n, Vector(q[0].size(), 0.0));
  for (size_t h = 0; h < heads; ++h) {
    for (size_t i = 0; i < n; ++i) {
      Vector p(n);
      double max = -INFINITY, sum = 0;
      for (size_t j = 0; j < n; ++j) {
        double dot = 0;
        for (size_t c = h * hd; c < (h + 1) * hd; ++c) dot += q[i][c] * k[j][c];
        p[j] = dot / std::sqrt(double(hd));
        max = std::max(max, p[j]);
      }
      for (double& s : p) sum += (s = std::exp(s - max));
      for (size_t j = 0; j < n; ++j) {
        for (size_t c = h * hd; c < (h + 1) * hd; ++c) out[i][c] += p[j] / sum * v[j][c];
      }
    }
  }
  return out;
}

}  // namespace

std::vector<std::vector<double>> reference_embeddings(const std::string& path,
                                                      const std::vector<std::vector<int32_t>>& inputs,
                                                      const EncoderReferenceRounding& rounding) {
  const model::EncoderDesc d = model::describe_encoder_gguf(model::read_gguf(path), path);
  Weights weights(d, rounding);
  const double eps = d.norm_eps;

  // xs[input][position]: the layers run over each input on its own.
  std::vector<std::vector<Vector>> xs;
  {
    const Tensor token = weights.tensor("token_embd.weight"), position = weights.tensor("position_embd.weight");
    const Tensor type = weights.tensor("token_types.weight");
    const Tensor norm = weights.tensor("token_embd_norm.weight"), norm_bias = weights.tensor("token_embd_norm.bias");
    for (const std::vector<int32_t>& input : inputs) {
      std::vector<Vector>& x = xs.emplace_back();
      for (size_t p = 0; p < input.size(); ++p) {
        Vector e(d.embedding_dim);
        const double* id_row = token.row(size_t(input[p]));
        for (size_t c = 0; c < e.size(); ++c) e[c] = id_row[c] + type.row(0)[c] + position.row(p)[c];
        x.push_back(layer_norm(e, norm, norm_bias, eps));
      }
    }
  }
  for (uint32_t l = 0; l < d.n_layers; ++l) {
    const auto w = [&](std::string_view name) { return weights.layer_tensor(l, name); };
    const Tensor wq = w("attn_q.weight"), bq = w("attn_q.bias");
    const Tensor wk = w("attn_k.weight"), bk = w("attn_k.bias");
    const Tensor wv = w("attn_v.weight"), bv = w("attn_v.bias");
    const Tensor wo = w("attn_output.weight"), bo = w("attn_output.bias");
    const Tensor attn_norm = w("attn_output_norm.weight"), attn_norm_bias = w("attn_output_norm.bias");
    const Tensor up = w("ffn_up.weight"), up_bias = w("ffn_up.bias");
    const Tensor down = w("ffn_down.weight"), down_bias = w("ffn_down.bias");
    const Tensor out_norm = w("layer_output_norm.weight"), out_norm_bias = w("layer_output_norm.bias");
    for (std::vector<Vector>& x : xs) {
      std::vector<Vector> q, k, v;
      for (const Vector& row : x) {
        q.push_back(weights.affine(wq, bq, row));
        k.push_back(weights.affine(wk, bk, row));
        v.push_back(weights.affine(wv, bv, row));
      }
      const std::vector<Vector> attended = attention(q, k, v, d.n_heads);
      for (size_t t = 0; t < x.size(); ++t) {
        x[t] = layer_norm(add(x[t], weights.affine(wo, bo, attended[t])), attn_norm, attn_norm_bias, eps);
        Vector h = weights.affine(up, up_bias, x[t]);
        for (double& value : h) value = gelu_tanh(value);
        x[t] = layer_norm(add(x[t], weights.affine(down, down_bias, h)), out_norm, out_norm_bias, eps);
      }
    }
  }

  std::vector<Vector> embeddings;
  for (const std::vector<Vector>& x : xs) {
    Vector pooled(d.embedding_dim, 0.0);
    if (d.pooling == model::Pooling::cls) {
      pooled = x[0];
    } else {
      for (const Vector& row : x) pooled = add(pooled, row);
      for (double& value : pooled) value /= double(x.size());
    }
    double norm = 0;
    for (const double value : pooled) norm += value * value;
    for (double& value : pooled) value /= std::sqrt(norm);
    embeddings.push_back(std::move(pooled));
  }
  return embeddings;
}

}  // namespace rs::cpu::testing
