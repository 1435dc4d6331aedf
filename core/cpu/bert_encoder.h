#pragma once
// A BERT-family sentence encoder (bge, all-MiniLM, e5, gte) on the CPU: the
// forward pass llama.cpp's LLM_ARCH_BERT graph computes, every input of a call
// stacked into one batch, on the SIMD kernels and the thread pool.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/cpu/encoder_weights.h"
#include "core/cpu/thread_pool.h"
#include "core/engine/encoder.h"
#include "core/kernels/activations.h"
#include "core/model/encoder_desc.h"
#include "io/file_stream.h"

namespace rs::cpu {

class BertEncoder final : public engine::Encoder {
 public:
  // Loads the encoder `desc` describes with one stream of its file; `threads`
  // 0: every core, `nice` as ThreadPool's. Throws model::ModelError naming a
  // missing or malformed tensor.
  BertEncoder(model::EncoderDesc desc, unsigned threads, const io::StreamOptions& stream = {}, int nice = 0);
  // The encoder in the GGUF at `path` (describe_encoder).
  BertEncoder(const std::string& path, unsigned threads, const io::StreamOptions& stream = {}, int nice = 0);

  uint32_t dims() const override { return weights_.desc().embedding_dim; }
  uint32_t max_tokens() const override { return weights_.desc().context_length; }
  // One call at a time. A sequence's vector is the same, bit for bit, whatever
  // else is in the call and however many threads run it. Throws
  // std::invalid_argument for an empty or too long input, a token id outside
  // the vocabulary, or `out` not inputs.size() × dims() long.
  void encode(std::span<const std::span<const int32_t>> inputs, std::span<float> out) override;

  const model::EncoderDesc& desc() const { return weights_.desc(); }

 private:
  // The tokens [begin, begin + length) of the stacked batch that are one input.
  struct Sequence {
    size_t begin, length;
  };

  void check(std::span<const std::span<const int32_t>> inputs, std::span<float> out) const;
  void embed(std::span<const std::span<const int32_t>> inputs);
  void layer(const EncoderLayerWeights& w);
  void attention(size_t token, size_t head, float* scores);
  // Adds `bias` to each of the call's rows of `rows`, `width` values apart.
  void add_bias(std::vector<float>& rows, const std::vector<float>& bias, size_t width);
  // x = LayerNorm(x + projected_ + bias) token by token: a sublayer's output bias, residual and norm.
  void residual_norm(const std::vector<float>& bias, const LayerNormWeights& norm);
  // Each input's vector, mean or CLS pooled and L2-normalised, into `out`.
  void pool_and_normalize(std::span<float> out) const;

  EncoderWeights weights_;
  ThreadPool pool_;
  kernels::Activations prepared_;

  // Per call: the inputs stacked, token-major activations [token][width].
  std::vector<Sequence> sequences_;
  std::vector<uint32_t> sequence_of_;  // per token
  size_t n_tokens_ = 0;
  std::vector<float> x_, q_, k_, v_, attn_, ffn_;
  std::vector<float> projected_;  // a sublayer's output projection, before bias, residual and norm
  std::vector<std::vector<float>> scores_;  // one attention row per thread
};

}  // namespace rs::cpu
