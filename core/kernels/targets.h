#pragma once
// The SIMD targets the kernels were compiled for, for tests (each one is
// checked) and benchmarks (which one ran).
#include <cstdint>
#include <string_view>
#include <vector>

namespace rs::kernels {

// Every target the kernels were compiled for (Highway target bits, OR-ed).
int64_t compiled_simd_targets();

// Compiled targets this CPU runs, best first (Highway target bits).
std::vector<int64_t> simd_targets();

// The target a kernel dispatches to now: the best one, or the one a test forced.
int64_t dispatched_simd_target();

// Its name ("AVX3_DL", "AVX2", …).
std::string_view current_simd_target();

}  // namespace rs::kernels
