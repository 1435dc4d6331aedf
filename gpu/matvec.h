#pragma once
// Decode's matrix × vectors on the GPU: weights in their file type (the GGUF
// blocks as the loader streamed them to the device) times a batch of 1–64 f32
// activation rows, each weight read from device memory once for the batch.
#include <cstddef>

#include "core/model/tensor_type.h"

struct CUstream_st;  // cudaStream_t, without the CUDA headers

namespace rs::gpu {

constexpr size_t kMaxMatvecTokens = 64;

// Whether matvec reads weights of `type`: f32, f16, bf16, q8_0, q4_0, q4_K, q6_K.
bool matvec_reads(model::TensorType type);

// y[t * rows + r] = Σ_c W[r][c] · x[t * cols + c] for t < tokens, with W's
// `rows` rows of `cols` values `row_bytes` apart. Pointers are device memory;
// the work is queued on `stream`. Throws std::invalid_argument for a type it
// cannot read, tokens outside 1–64, or cols not whole blocks of the type.
void matvec(model::TensorType type, const std::byte* w, size_t rows, size_t cols, size_t row_bytes, const float* x,
            size_t tokens, float* y, CUstream_st* stream);

}  // namespace rs::gpu
