#pragma once
// The SIMD targets the kernels were compiled for, for tests (each one is
// checked) and benchmarks (which one ran).
#include <cstdint>
#include <string_view>
#include <vector>

namespace rs::kernels {

// Compiled targets this CPU runs, best first (Highway target bits).
std::vector<int64_t> simd_targets();

// The target the kernels dispatch to now ("AVX3_DL", "AVX2", …).
std::string_view current_simd_target();

}  // namespace rs::kernels
