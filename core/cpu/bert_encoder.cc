#include "core/cpu/bert_encoder.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "core/cpu/multiply.h"
#include "core/kernels/ops.h"

namespace rs::cpu {

namespace {

template <typename T>
void grow_to(std::vector<T>& v, size_t n) {
  if (v.size() < n) v.resize(n);
}

const std::byte* bytes(const float* p) { return reinterpret_cast<const std::byte*>(p); }

}  // namespace

BertEncoder::BertEncoder(model::EncoderDesc desc, unsigned threads, const io::StreamOptions& stream, int nice)
    : weights_(std::move(desc), stream), pool_(threads, nice) {
  scores_.resize(pool_.size());
}

BertEncoder::BertEncoder(const std::string& path, unsigned threads, const io::StreamOptions& stream, int nice)
    : BertEncoder(describe_encoder(path), threads, stream, nice) {}

void BertEncoder::check(std::span<const std::span<const int32_t>> inputs, std::span<float> out) const {
  if (out.size() != inputs.size() * dims()) {
    throw std::invalid_argument(fmt::format("encode: out holds {} floats, not {} inputs × {} dims", out.size(),
                                            inputs.size(), dims()));
  }
  const uint32_t vocab = desc().vocab_size;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (inputs[i].empty() || inputs[i].size() > max_tokens()) {
      throw std::invalid_argument(fmt::format("encode: input {} has {} tokens; the model takes 1 to {}", i,
                                              inputs[i].size(), max_tokens()));
    }
    for (const int32_t id : inputs[i]) {
      if (id < 0 || uint32_t(id) >= vocab) {
        throw std::invalid_argument(fmt::format("encode: input {} has token {}, outside the vocabulary of {}", i,
                                                id, vocab));
      }
    }
  }
}

void BertEncoder::encode(std::span<const std::span<const int32_t>> inputs, std::span<float> out) {
  check(inputs, out);
  if (inputs.empty()) return;
  sequences_.clear();
  sequence_of_.clear();
  for (const std::span<const int32_t> input : inputs) {
    const auto index = uint32_t(sequences_.size());
    sequences_.push_back({sequence_of_.size(), input.size()});
    sequence_of_.insert(sequence_of_.end(), input.size(), index);
  }
  n_tokens_ = sequence_of_.size();
  const size_t d = desc().embedding_dim;
  for (std::vector<float>* rows : {&x_, &q_, &k_, &v_, &attn_, &projected_}) grow_to(*rows, n_tokens_ * d);
  grow_to(ffn_, n_tokens_ * desc().ffn_dim);

  embed(inputs);
  for (const EncoderLayerWeights& w : weights_.layers) layer(w);
  pool_and_normalize(out);
}

void BertEncoder::embed(std::span<const std::span<const int32_t>> inputs) {
  const size_t d = desc().embedding_dim;
  const LayerNormWeights& norm = weights_.embedding_norm;
  pool_.run_ranges(n_tokens_, 1, [&](size_t begin, size_t end, unsigned) {
    for (size_t t = begin; t < end; ++t) {
      const Sequence& s = sequences_[sequence_of_[t]];
      const size_t position = t - s.begin;
      float* x = &x_[t * d];
      float* position_row = &projected_[t * d];  // free until the first layer
      // As llama.cpp adds them: (token + token type 0) + position.
      kernels::dequantize_row(weights_.token_embedding, size_t(inputs[sequence_of_[t]][position]), x);
      kernels::add(x, weights_.token_type_0.data(), d);
      kernels::dequantize_row(weights_.position_embedding, position, position_row);
      kernels::add(x, position_row, d);
      kernels::layer_norm(x, norm.weight.data(), norm.bias.data(), desc().norm_eps, d, x);
    }
  });
}

void BertEncoder::add_bias(std::vector<float>& rows, const std::vector<float>& bias, size_t width) {
  pool_.run_ranges(n_tokens_, 1, [&](size_t begin, size_t end, unsigned) {
    for (size_t t = begin; t < end; ++t) kernels::add(&rows[t * width], bias.data(), width);
  });
}

void BertEncoder::residual_norm(const std::vector<float>& bias, const LayerNormWeights& norm) {
  const size_t d = desc().embedding_dim;
  pool_.run_ranges(n_tokens_, 1, [&](size_t begin, size_t end, unsigned) {
    for (size_t t = begin; t < end; ++t) {
      float* sum = &projected_[t * d];
      kernels::add(sum, bias.data(), d);
      kernels::add(sum, &x_[t * d], d);
      kernels::layer_norm(sum, norm.weight.data(), norm.bias.data(), desc().norm_eps, d, &x_[t * d]);
    }
  });
}

void BertEncoder::layer(const EncoderLayerWeights& w) {
  const size_t d = desc().embedding_dim, ffn = desc().ffn_dim, n = n_tokens_;
  multiply(pool_, prepared_, x_.data(), n, d,
           {{&w.q.weight, q_.data()}, {&w.k.weight, k_.data()}, {&w.v.weight, v_.data()}});
  add_bias(q_, w.q.bias, d);
  add_bias(k_, w.k.bias, d);
  add_bias(v_, w.v.bias, d);
  const size_t heads = desc().n_heads;
  pool_.run_ranges(n * heads, 1, [&](size_t begin, size_t end, unsigned thread) {
    std::vector<float>& scores = scores_[thread];
    for (size_t i = begin; i < end; ++i) {
      grow_to(scores, sequences_[sequence_of_[i / heads]].length);
      attention(i / heads, i % heads, scores.data());
    }
  });

  multiply(pool_, prepared_, attn_.data(), n, d, {{&w.attn_output.weight, projected_.data()}});
  residual_norm(w.attn_output.bias, w.attn_output_norm);

  multiply(pool_, prepared_, x_.data(), n, d, {{&w.ffn_up.weight, ffn_.data()}});
  pool_.run_ranges(n, 1, [&](size_t begin, size_t end, unsigned) {
    for (size_t t = begin; t < end; ++t) {
      kernels::add(&ffn_[t * ffn], w.ffn_up.bias.data(), ffn);
      kernels::gelu(&ffn_[t * ffn], ffn);
    }
  });
  multiply(pool_, prepared_, ffn_.data(), n, ffn, {{&w.ffn_down.weight, projected_.data()}});
  residual_norm(w.ffn_down.bias, w.layer_output_norm);
}

// Bidirectional: token `t` attends to every token of its own input, and to no other input's.
void BertEncoder::attention(size_t t, size_t head, float* scores) {
  const size_t d = desc().embedding_dim, hd = desc().head_dim;
  const Sequence& s = sequences_[sequence_of_[t]];
  const size_t column = head * hd;
  const float scale = 1.0f / std::sqrt(float(hd));
  kernels::dot_kv_rows(model::TensorType::f32, &q_[t * d + column], bytes(&k_[s.begin * d + column]),
                       d * sizeof(float), s.length, hd, scale, scores);
  kernels::softmax(scores, s.length);
  float* out = &attn_[t * d + column];
  std::fill(out, out + hd, 0.0f);
  kernels::axpy_kv_rows(model::TensorType::f32, scores, bytes(&v_[s.begin * d + column]), d * sizeof(float),
                        s.length, out, hd);
}

void BertEncoder::pool_and_normalize(std::span<float> out) const {
  const size_t d = desc().embedding_dim;
  std::vector<double> pooled(d);
  for (size_t i = 0; i < sequences_.size(); ++i) {
    const Sequence& s = sequences_[i];
    if (desc().pooling == model::Pooling::cls) {
      std::copy_n(&x_[s.begin * d], d, pooled.begin());
    } else {
      std::fill(pooled.begin(), pooled.end(), 0.0);
      for (size_t t = s.begin; t < s.begin + s.length; ++t) {
        for (size_t j = 0; j < d; ++j) pooled[j] += x_[t * d + j];
      }
      for (double& v : pooled) v /= double(s.length);
    }
    double sum_of_squares = 0;
    for (const double v : pooled) sum_of_squares += v * v;
    // As llama.cpp normalizes: a zero vector stays zero.
    const double scale = sum_of_squares > 0 ? 1.0 / std::sqrt(sum_of_squares) : 0.0;
    for (size_t j = 0; j < d; ++j) out[i * d + j] = float(pooled[j] * scale);
  }
}

}  // namespace rs::cpu
