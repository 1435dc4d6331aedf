#pragma once
// Weight matrix × activations, reading each weight in the type the file
// stores it: the kernel every projection and the LM head run through.
#include <cstddef>

#include "core/kernels/activations.h"
#include "core/kernels/matrix.h"

namespace rs::kernels {

// y[t * y_stride + r] = dot(row r of w, activation row t), for rows
// [row_begin, row_end) and every prepared token. Threads split the rows. A
// token's results are the same, bit for bit, whatever batch it comes in and
// however the rows are split (on any one SIMD target).
void matmul(const Matrix& w, const Activations& x, float* y, size_t y_stride, size_t row_begin, size_t row_end);

}  // namespace rs::kernels
