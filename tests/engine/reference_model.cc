#include "tests/engine/reference_model.h"

#include <cmath>

#include "core/model/quantize.h"

namespace rs::engine::testing {
namespace {

using Vector = std::vector<double>;

// Rows of exact weights, and the type whose dot product rounds the activations.
struct Matrix {
  std::vector<Vector> rows;
  model::TensorType activation_type = model::TensorType::f32;
};

// `x` stored as `type` and read back: the rounding of a quantized activation or KV row.
Vector round_trip(const Vector& x, model::TensorType type) {
  if (type == model::TensorType::f32) return x;
  std::vector<float> values(x.begin(), x.end());
  std::vector<std::byte> stored(*model::tensor_bytes(type, values.size()));
  model::quantize_row(type, values.data(), stored.data(), values.size());
  model::dequantize_row(type, stored.data(), values.data(), values.size());
  return Vector(values.begin(), values.end());
}

Matrix read_matrix(const kernels::Matrix& m, bool round_activations) {
  using model::TensorType;
  const bool q8_dot = m.type == TensorType::q8_0 || m.type == TensorType::q4_0;
  Matrix out{std::vector<Vector>(m.rows, Vector(m.cols)),
             round_activations && q8_dot ? TensorType::q8_0 : TensorType::f32};
  std::vector<float> row(m.cols);
  for (size_t r = 0; r < m.rows; ++r) {
    model::dequantize_row(m.type, m.row(r), row.data(), m.cols);
    for (size_t c = 0; c < m.cols; ++c) out.rows[r][c] = row[c];
  }
  return out;
}

Vector times(const Matrix& w, const Vector& exact_x) {
  const Vector x = round_trip(exact_x, w.activation_type);
  Vector y(w.rows.size(), 0.0);
  for (size_t r = 0; r < w.rows.size(); ++r) {
    for (size_t c = 0; c < x.size(); ++c) y[r] += w.rows[r][c] * x[c];
  }
  return y;
}

Vector rms_norm(const Vector& x, const std::vector<float>& weight, double eps) {
  double sum = 0;
  for (const double v : x) sum += v * v;
  const double scale = 1.0 / std::sqrt(sum / double(x.size()) + eps);
  Vector y(x.size());
  for (size_t i = 0; i < x.size(); ++i) y[i] = x[i] * scale * weight[i];
  return y;
}

void add_bias(Vector& x, const std::vector<float>& bias) {
  for (size_t i = 0; i < bias.size(); ++i) x[i] += bias[i];
}

// RoPE on every head of `x`: rotate pair i of each head by position · base^(−2i/d).
void rotate(Vector& x, size_t head_dim, size_t position, double base, bool adjacent_pairs) {
  const size_t half = head_dim / 2;
  for (size_t head = 0; head < x.size() / head_dim; ++head) {
    double* h = &x[head * head_dim];
    for (size_t i = 0; i < half; ++i) {
      const double angle = double(position) * std::pow(base, -2.0 * double(i) / double(head_dim));
      double& a = adjacent_pairs ? h[2 * i] : h[i];
      double& b = adjacent_pairs ? h[2 * i + 1] : h[i + half];
      const double a0 = a, b0 = b;
      a = a0 * std::cos(angle) - b0 * std::sin(angle);
      b = a0 * std::sin(angle) + b0 * std::cos(angle);
    }
  }
}

}  // namespace

std::vector<std::vector<double>> reference_logits(const ModelWeights& weights, std::span<const int32_t> tokens,
                                                  const ReferenceRounding& rounding) {
  const auto dequantize = [&](const kernels::Matrix& m) { return read_matrix(m, rounding.activations); };
  const model::TensorType kv_type = rounding.kv;
  const model::ModelDesc& d = weights.desc();
  const size_t hd = d.head_dim, group = d.n_heads / d.n_kv_heads;
  const bool adjacent = d.rope_layout == model::RopeLayout::adjacent_pairs;
  const Matrix embedding = dequantize(weights.token_embedding);
  const Matrix output = dequantize(weights.output);

  std::vector<Vector> x;
  for (const int32_t id : tokens) x.push_back(embedding.rows[size_t(id)]);
  for (const LayerWeights& w : weights.layers) {
    const Matrix wq = dequantize(w.q), wk = dequantize(w.k), wv = dequantize(w.v), wo = dequantize(w.o);
    const Matrix gate = dequantize(w.gate), up = dequantize(w.up), down = dequantize(w.down);
    std::vector<Vector> q, k, v;
    for (size_t t = 0; t < x.size(); ++t) {
      const Vector h = rms_norm(x[t], w.attn_norm, d.norm_eps);
      q.push_back(times(wq, h));
      k.push_back(times(wk, h));
      v.push_back(times(wv, h));
      add_bias(q.back(), w.q_bias);
      add_bias(k.back(), w.k_bias);
      add_bias(v.back(), w.v_bias);
      rotate(q.back(), hd, t, d.rope_freq_base, adjacent);
      rotate(k.back(), hd, t, d.rope_freq_base, adjacent);
      for (size_t head = 0; head < d.n_kv_heads; ++head) {  // the cache stores each head's row
        for (Vector* row : {&k.back(), &v.back()}) {
          const Vector stored = round_trip(Vector(row->begin() + head * hd, row->begin() + (head + 1) * hd), kv_type);
          std::copy(stored.begin(), stored.end(), row->begin() + head * hd);
        }
      }
    }
    for (size_t t = 0; t < x.size(); ++t) {
      Vector attended(d.n_heads * hd, 0.0);
      for (size_t head = 0; head < d.n_heads; ++head) {
        const size_t kv = head / group;
        Vector scores(t + 1);
        double max = -INFINITY;
        for (size_t j = 0; j <= t; ++j) {
          double s = 0;
          for (size_t i = 0; i < hd; ++i) s += q[t][head * hd + i] * k[j][kv * hd + i];
          scores[j] = s / std::sqrt(double(hd));
          max = std::max(max, scores[j]);
        }
        double sum = 0;
        for (double& s : scores) sum += s = std::exp(s - max);
        for (size_t j = 0; j <= t; ++j) {
          for (size_t i = 0; i < hd; ++i) attended[head * hd + i] += scores[j] / sum * v[j][kv * hd + i];
        }
      }
      const Vector o = times(wo, attended);
      for (size_t i = 0; i < o.size(); ++i) x[t][i] += o[i];
      const Vector h = rms_norm(x[t], w.ffn_norm, d.norm_eps);
      Vector g = times(gate, h);
      const Vector u = times(up, h);
      for (size_t i = 0; i < g.size(); ++i) g[i] = g[i] / (1.0 + std::exp(-g[i])) * u[i];
      const Vector f = times(down, g);
      for (size_t i = 0; i < f.size(); ++i) x[t][i] += f[i];
    }
  }
  std::vector<std::vector<double>> logits;
  for (const Vector& row : x) logits.push_back(times(output, rms_norm(row, weights.output_norm, d.norm_eps)));
  return logits;
}

double relative_error(std::span<const float> a, std::span<const double> b) {
  double diff = 0, norm = 0;
  for (size_t i = 0; i < b.size(); ++i) {
    diff += (a[i] - b[i]) * (a[i] - b[i]);
    norm += b[i] * b[i];
  }
  return std::sqrt(diff / norm);
}

}  // namespace rs::engine::testing
