#include "tests/cpu/reference_model.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <numbers>
#include <stdexcept>

#include "core/model/quantize.h"

namespace rs::cpu::testing {

namespace {

using Vector = std::vector<double>;

// How a weight type's dot product rounds the activations it reads.
enum class ActivationRounding { none, q8_0, q8_k };

// Rows of exact weights, and the rounding their dot product applies to activations.
struct Matrix {
  std::vector<Vector> rows;
  ActivationRounding activations = ActivationRounding::none;
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

// `x` as ggml's quantize_row_q8_K_ref stores it, read back: per block of 256,
// the value of largest magnitude (the first, if tied) maps to −127,
// q = min(127, nearest_int(x · iscale)) with iscale = −127 / max, and
// value = q · d with d = 1 / iscale, all in float as ggml computes it.
Vector round_trip_q8_k(const Vector& x) {
  constexpr size_t kBlock = model::kQK_K;
  Vector y(x.size(), 0.0);
  for (size_t b = 0; b + kBlock <= x.size(); b += kBlock) {
    float amax = 0.0f, max = 0.0f;
    for (size_t j = 0; j < kBlock; ++j) {
      const float v = float(x[b + j]);
      if (std::fabs(v) > amax) {
        amax = std::fabs(v);
        max = v;
      }
    }
    if (amax == 0.0f) continue;  // d = 0: every value reads back as 0
    const float iscale = -127.0f / max;
    const float d = 1 / iscale;
    for (size_t j = 0; j < kBlock; ++j) {
      const int q = std::min(127, int(std::nearbyint(iscale * float(x[b + j]))));  // nearest, ties to even
      y[b + j] = double(d) * double(q);
    }
  }
  return y;
}

Vector round_activations(const Vector& x, ActivationRounding rounding) {
  switch (rounding) {
    case ActivationRounding::q8_0: return round_trip(x, model::TensorType::q8_0);
    case ActivationRounding::q8_k: return round_trip_q8_k(x);
    default: return x;
  }
}

ActivationRounding activation_rounding_of(model::TensorType weight_type) {
  using model::TensorType;
  switch (weight_type) {
    case TensorType::q8_0:
    case TensorType::q4_0: return ActivationRounding::q8_0;
    case TensorType::q4_k:
    case TensorType::q5_k:
    case TensorType::q6_k: return ActivationRounding::q8_k;
    default: return ActivationRounding::none;
  }
}

Matrix read_matrix(const kernels::Matrix& m, bool round_activations) {
  Matrix out{std::vector<Vector>(m.rows, Vector(m.cols)),
             round_activations ? activation_rounding_of(m.type) : ActivationRounding::none};
  std::vector<float> row(m.cols);
  for (size_t r = 0; r < m.rows; ++r) {
    kernels::dequantize_row(m, r, row.data());
    for (size_t c = 0; c < m.cols; ++c) out.rows[r][c] = row[c];
  }
  return out;
}

Vector times(const Matrix& w, const Vector& exact_x) {
  const Vector x = round_activations(exact_x, w.activations);
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

// RoPE on every head of `x`: rotate pair i of each head by position · inv_freq[i].
void rotate(Vector& x, size_t head_dim, size_t position, const std::vector<double>& inv_freq, bool adjacent_pairs) {
  const size_t half = head_dim / 2;
  for (size_t head = 0; head < x.size() / head_dim; ++head) {
    double* h = &x[head * head_dim];
    for (size_t i = 0; i < half; ++i) {
      const double angle = double(position) * inv_freq[i];
      double& a = adjacent_pairs ? h[2 * i] : h[i];
      double& b = adjacent_pairs ? h[2 * i + 1] : h[i + half];
      const double a0 = a, b0 = b;
      a = a0 * std::cos(angle) - b0 * std::sin(angle);
      b = a0 * std::sin(angle) + b0 * std::cos(angle);
    }
  }
}

// A 1-D tensor's values, read from its file here rather than through the executor's loader.
std::vector<float> read_vector(const model::ModelDesc& desc, const model::TensorInfo& t) {
  std::vector<std::byte> bytes(t.bytes);
  std::ifstream file(desc.files.at(t.file), std::ios::binary);
  file.seekg(std::streamoff(t.offset));
  file.read(reinterpret_cast<char*>(bytes.data()), std::streamsize(bytes.size()));
  if (!file) throw std::runtime_error("reference: cannot read " + t.name);
  std::vector<float> values(t.elements());
  model::dequantize_row(t.type, bytes.data(), values.data(), values.size());
  return values;
}

}  // namespace

std::vector<double> reference_rope_frequencies(const model::ModelDesc& d) {
  const size_t pairs = d.head_dim / 2;
  std::vector<double> inv_freq(pairs);
  // Hugging Face: inv_freq = 1 / base^(arange(0, dim, 2) / dim).
  for (size_t i = 0; i < pairs; ++i) inv_freq[i] = 1.0 / std::pow(double(d.rope_freq_base), double(2 * i) / d.head_dim);
  const double factor = d.rope_scale_factor;
  if (const model::TensorInfo* t = d.tensor("rope_freqs.weight")) {
    // llama.cpp: theta_i / freq_factors[i] (the converter writes llama3's scaling
    // as these factors), times freq_scale = 1 / the linear factor, if any.
    const std::vector<float> factors = read_vector(d, *t);
    for (size_t i = 0; i < pairs; ++i) {
      inv_freq[i] /= factors.at(i);
      if (d.rope_scaling == model::RopeScaling::linear) inv_freq[i] /= factor;
    }
  } else if (d.rope_scaling == model::RopeScaling::linear) {
    for (double& f : inv_freq) f /= factor;  // _compute_linear_scaling_rope_parameters: positions / factor
  } else if (d.rope_scaling == model::RopeScaling::llama3) {
    // _compute_llama3_parameters: long wavelengths scaled by 1/factor, short ones kept,
    // the band between interpolated by smooth_factor.
    const double low = d.rope_low_freq_factor, high = d.rope_high_freq_factor;
    const double old_context = d.rope_original_context;
    const double low_freq_wavelen = old_context / low, high_freq_wavelen = old_context / high;
    for (double& f : inv_freq) {
      const double wavelen = 2 * std::numbers::pi / f;
      const double scaled = wavelen > low_freq_wavelen ? f / factor : f;
      const double smooth = (old_context / wavelen - low) / (high - low);
      const bool medium = !(wavelen < high_freq_wavelen) && !(wavelen > low_freq_wavelen);
      f = medium ? (1 - smooth) * scaled / factor + smooth * scaled : scaled;
    }
  }
  return inv_freq;
}

std::vector<std::vector<double>> reference_logits(const ModelWeights& weights, std::span<const int32_t> tokens,
                                                  const ReferenceRounding& rounding) {
  const auto dequantize = [&](const kernels::Matrix& m) { return read_matrix(m, rounding.activations); };
  const model::TensorType kv_type = rounding.kv;
  const model::ModelDesc& d = weights.desc();
  const size_t hd = d.head_dim, group = d.n_heads / d.n_kv_heads;
  const bool adjacent = d.rope_layout == model::RopeLayout::adjacent_pairs;
  const std::vector<double> inv_freq = reference_rope_frequencies(d);
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
      rotate(q.back(), hd, t, inv_freq, adjacent);
      rotate(k.back(), hd, t, inv_freq, adjacent);
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

}  // namespace rs::cpu::testing
