#pragma once
// The per-row operations of a step on the GPU, each over every token of the
// batch in one launch, queued on `stream`; pointers are device memory. They
// compute what core/kernels/ops.h does on the CPU.
#include <cstddef>
#include <cstdint>

#include "core/model/tensor_type.h"

struct CUstream_st;

namespace rs::gpu {

// out[r] = x[r] / rms(x[r]) · weight for `rows` rows of `n` values.
void rms_norm(const float* x, const float* weight, float eps, size_t n, size_t rows, float* out, CUstream_st* stream);

// RoPE in place on `tokens` × `heads` heads of `head_dim` values, token t at
// positions[t]: pairs (2i, 2i + 1) (GGUF llama) or (i, i + head_dim / 2)
// (neox / Hugging Face), each turned by positions[t] · inv_freq[i].
void rope(float* x, size_t tokens, size_t heads, size_t head_dim, const int32_t* positions, const float* inv_freq,
          bool adjacent_pairs, CUstream_st* stream);

// gate[i] = silu(gate[i]) · up[i], and x[i] += y[i], over n values.
void swiglu(float* gate, const float* up, size_t n, CUstream_st* stream);
void add(float* x, const float* y, size_t n, CUstream_st* stream);
// x[r][i] += bias[i] for `rows` rows of `n` values (qwen2's Q/K/V biases).
void add_bias(float* x, const float* bias, size_t n, size_t rows, CUstream_st* stream);
// out[i] = x[rows[i]] for i < count, rows of `n` values: the tokens whose logits a step wants.
void gather_rows(const float* x, const int32_t* rows, size_t n, size_t count, float* out, CUstream_st* stream);

// out[t] = row ids[t] of `table` (`cols` values of `type` per row, `row_bytes`
// apart) as floats, for t < tokens: the embedding lookup. Types as matvec.
// Ids are not checked here: the executor checks them on the host.
void embed(model::TensorType type, const std::byte* table, size_t cols, size_t row_bytes, const int32_t* ids,
           size_t tokens, float* out, CUstream_st* stream);

}  // namespace rs::gpu
