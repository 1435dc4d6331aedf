#pragma once
// Runs test suites once per SIMD target the kernels were compiled for and this
// CPU runs (AVX3_DL, AVX3, AVX2, SSE4 and SCALAR on an AVX-512 VNNI machine),
// forcing Highway's dispatch to each in turn.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <tuple>

#include "core/kernels/targets.h"
#include "hwy/targets.h"

namespace rs::kernels {

// Dispatches every kernel to `target` while alive.
class ForceTarget {
 public:
  explicit ForceTarget(int64_t target) { hwy::SetSupportedTargetsForTest(target); }
  ~ForceTarget() { hwy::SetSupportedTargetsForTest(0); }
  ForceTarget(const ForceTarget&) = delete;
  ForceTarget& operator=(const ForceTarget&) = delete;
};

// A suite parameterized by target alone.
class PerTarget : public ::testing::TestWithParam<int64_t> {
 private:
  ForceTarget target_{GetParam()};
};

inline std::string target_name(const ::testing::TestParamInfo<int64_t>& info) { return hwy::TargetName(info.param); }

#define RS_INSTANTIATE_PER_TARGET(Suite) \
  INSTANTIATE_TEST_SUITE_P(Simd, Suite, ::testing::ValuesIn(::rs::kernels::simd_targets()), ::rs::kernels::target_name)

}  // namespace rs::kernels
