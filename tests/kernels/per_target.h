#pragma once
// Runs test suites once per SIMD target the kernels were compiled for and this
// CPU runs (AVX3_DL, AVX3, AVX2, SSE4 and SCALAR on an AVX-512 VNNI machine),
// forcing Highway's dispatch to each in turn. Every binary that includes this
// logs the targets compiled in, those this CPU runs, and those the tests ran.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <string>

#include "core/kernels/targets.h"
#include "hwy/targets.h"

namespace rs::kernels {

// The targets the kernels dispatched to under a ForceTarget in this process (target bits, OR-ed).
inline int64_t& targets_run() {
  static int64_t run = 0;
  return run;
}

// Dispatches every kernel to `target` while alive.
class ForceTarget {
 public:
  explicit ForceTarget(int64_t target) {
    hwy::SetSupportedTargetsForTest(target);
    targets_run() |= dispatched_simd_target();  // what the kernels chose, not what was asked
  }
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

// "AVX3_DL AVX3 …" for the target bits in `targets`, best (lowest bit) first.
inline std::string target_names(int64_t targets) {
  std::string names;
  for (int64_t rest = targets; rest != 0; rest &= rest - 1) {
    names += names.empty() ? "" : " ";
    names += hwy::TargetName(rest & -rest);
  }
  return names.empty() ? "none" : names;
}

// Before the tests, the targets compiled in and those this CPU runs; after, those the tests ran: the
// log says whether the AVX-512 paths were exercised.
class SimdTargetsLog final : public ::testing::Environment {
 public:
  void SetUp() override {
    for (const int64_t target : simd_targets()) runnable_ |= target;
    const int64_t compiled = compiled_simd_targets();
    std::printf("[ SIMD     ] compiled: %s | this CPU runs: %s | not on this CPU: %s | tests that force none run: %s\n",
                target_names(compiled).c_str(), target_names(runnable_).c_str(),
                target_names(compiled & ~runnable_).c_str(), std::string(current_simd_target()).c_str());
    std::fflush(stdout);
  }
  void TearDown() override {
    std::printf("[ SIMD     ] tests forced: %s | runnable but not forced: %s\n", target_names(targets_run()).c_str(),
                target_names(runnable_ & ~targets_run()).c_str());
    std::fflush(stdout);
  }

 private:
  int64_t runnable_ = 0;
};

inline ::testing::Environment* const kSimdTargetsLog = ::testing::AddGlobalTestEnvironment(new SimdTargetsLog);

}  // namespace rs::kernels
