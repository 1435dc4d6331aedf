#pragma once
// Weight matrices times a batch of activation rows on the thread pool: the
// one way every forward pass on the CPU (decoder and encoder) runs its
// projections through kernels::matmul.
#include <cstddef>
#include <initializer_list>

#include "core/cpu/thread_pool.h"
#include "core/kernels/activations.h"
#include "core/kernels/matrix.h"

namespace rs::cpu {

// One product: the input rows times `weight`, into `output` rows of weight->rows values.
struct Product {
  const kernels::Matrix* weight;
  float* output;
};

// Runs products that share an input of `n_tokens` rows of `width` floats: the
// input is prepared into `prepared` once per run of products of one weight
// type, and each such run is one parallel region, every chunk taking a slice
// of every product so that the chunks are even whatever the shapes. A token's
// results do not depend on the batch it is in (kernels::matmul).
void multiply(ThreadPool& pool, kernels::Activations& prepared, const float* input, size_t n_tokens, size_t width,
              std::initializer_list<Product> products);

}  // namespace rs::cpu
