#include "core/cpu/multiply.h"

#include "core/kernels/matmul.h"

namespace rs::cpu {

namespace {

// Rows per thread share of a matrix: whole cache lines of each output row.
constexpr size_t kRowAlign = 16;

}  // namespace

void multiply(ThreadPool& pool, kernels::Activations& prepared, const float* input, size_t n_tokens, size_t width,
              std::initializer_list<Product> products) {
  for (auto first = products.begin(); first != products.end();) {
    const model::TensorType type = first->weight->type;
    auto last = first;
    while (last != products.end() && last->weight->type == type) ++last;
    prepared.prepare(type, input, n_tokens, width);
    const size_t chunks = pool.chunks_for(first->weight->rows, kRowAlign);
    pool.run(chunks, [&](size_t chunk, unsigned) {
      for (auto p = first; p != last; ++p) {
        const auto [begin, end] = ThreadPool::share(p->weight->rows, chunk, chunks, kRowAlign);
        kernels::matmul(*p->weight, prepared, p->output, p->weight->rows, begin, end);
      }
    });
    first = last;
  }
}

}  // namespace rs::cpu
