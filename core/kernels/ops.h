#pragma once
// The elementwise and per-row operations of a transformer layer, on f32 rows.
#include <cstddef>
#include <cstdint>

#include "core/model/tensor_type.h"

namespace rs::kernels {

// out = x / rms(x) * weight over `n` values (out may be x).
void rms_norm(const float* x, const float* weight, float eps, size_t n, float* out);

// out = (x − mean(x)) / sqrt(var(x) + eps) * weight + bias over `n` values:
// LayerNorm, with the variance over n as ggml_norm takes it (out may be x).
void layer_norm(const float* x, const float* weight, const float* bias, float eps, size_t n, float* out);

// Rotates one head of `head_dim` values at `position` in place. `adjacent_pairs`:
// GGUF llama's (0,1), (2,3)…; otherwise neox / Hugging Face halves (i, i + d/2).
// `inv_freq[i]` is the angle per position of pair i (head_dim / 2 of them), with
// the model's base and scaling already applied.
void rope(float* head, size_t head_dim, uint32_t position, const float* inv_freq, bool adjacent_pairs);

// gate = silu(gate) * up over `n` values: SwiGLU.
void swiglu(float* gate, const float* up, size_t n);

// x = gelu(x) over `n` values, in the tanh form ggml_gelu computes (BERT's
// "gelu" is the erf form; the two differ by under 5e-4).
void gelu(float* x, size_t n);

// x += y over `n` values.
void add(float* x, const float* y, size_t n);

// In place softmax over `n` values; returns nothing, the row sums to 1.
void softmax(float* x, size_t n);

// Attention's inner loops over cached keys and values stored as `type`
// (f32, f16 or q8_0; q8_0 rows hold n / 32 blocks), `rows` rows of `n` values
// `row_bytes` apart (a KV block's positions): store a row;
// scores[i] = scale · dot(q, key row i); y += Σ_i scores[i] · value row i.
void store_kv_row(model::TensorType type, const float* x, std::byte* row, size_t n);
void dot_kv_rows(model::TensorType type, const float* q, const std::byte* k_rows, size_t row_bytes, size_t rows,
                 size_t n, float scale, float* scores);
void axpy_kv_rows(model::TensorType type, const float* scores, const std::byte* v_rows, size_t row_bytes, size_t rows,
                  float* y, size_t n);

}  // namespace rs::kernels
