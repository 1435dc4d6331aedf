// The per-target suites mean something only if forcing a target moves the
// kernels' dispatch to it, and if every target the CPU runs is among them:
// AVX3_DL in particular, which Highway compiles only on request.
#include "core/kernels/targets.h"

#include <gtest/gtest.h>

#include <algorithm>

#if defined(__x86_64__)
#include <cpuid.h>
#endif

#include "tests/kernels/per_target.h"

namespace rs::kernels {
namespace {

class Dispatch : public PerTarget {};

TEST_P(Dispatch, FollowsTheForcedTarget) {
  EXPECT_EQ(dispatched_simd_target(), GetParam()) << "ran " << hwy::TargetName(dispatched_simd_target());
  EXPECT_EQ(current_simd_target(), hwy::TargetName(GetParam()));
}

RS_INSTANTIATE_PER_TARGET(Dispatch);

TEST(SimdTargets, TheBestRunsWhenNoneIsForced) {
  const std::vector<int64_t> targets = simd_targets();
  ASSERT_FALSE(targets.empty());
  { const ForceTarget worst(targets.back()); }
  EXPECT_EQ(dispatched_simd_target(), targets.front());
}

// Best first, each one compiled in and supported by this CPU (as Highway detects it), none missing.
TEST(SimdTargets, ListsEveryCompiledTargetThisCpuRuns) {
  int64_t listed = 0, previous = 0;
  for (const int64_t target : simd_targets()) {
    EXPECT_EQ(target & (target - 1), 0) << "one target bit each";
    EXPECT_GT(target, previous) << "better (lower) bits first";
    previous = target;
    listed |= target;
  }
  EXPECT_EQ(listed, compiled_simd_targets() & hwy::SupportedTargets());
}

#if HWY_ARCH_X86_64
// CPUID leaf 7's VAES bit: clang's __builtin_cpu_supports does not know "vaes".
bool cpu_has_vaes() {
  unsigned eax, ebx, ecx, edx;
  return __get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx) && (ecx & bit_VAES);
}
#endif

// core/kernels/simd.h opts in to AVX3_DL (Highway 1.0 leaves it out unless asked): without it a CPU
// with AVX-512 VNNI would run AVX3's kernels, and the vpdpbusd paths would go untested.
TEST(SimdTargets, Avx3DlIsCompiledAndRunsWhereTheCpuHasIt) {
#if HWY_ARCH_X86_64
  EXPECT_NE(compiled_simd_targets() & HWY_AVX3_DL, 0);
  // Highway 1.0's AVX3_DL: AVX-512 F, VL, DQ and BW with VNNI, VPCLMULQDQ, VBMI2, VAES, VPOPCNTDQ and BITALG.
  const bool cpu_has_it = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
                          __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw") &&
                          __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("vpclmulqdq") &&
                          __builtin_cpu_supports("avx512vbmi2") && cpu_has_vaes() &&
                          __builtin_cpu_supports("avx512vpopcntdq") && __builtin_cpu_supports("avx512bitalg");
  const std::vector<int64_t> targets = simd_targets();
  EXPECT_EQ(std::count(targets.begin(), targets.end(), HWY_AVX3_DL), cpu_has_it ? 1 : 0);
#else
  GTEST_SKIP() << "AVX3_DL is an x86-64 target";
#endif
}

}  // namespace
}  // namespace rs::kernels
