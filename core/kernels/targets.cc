#include "core/kernels/targets.h"

#include "core/kernels/simd.h"
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "core/kernels/targets.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace rs::kernels::HWY_NAMESPACE {

// Compiled once per target, as every kernel: which copy runs is what the kernels' dispatch chose.
int64_t ThisTarget() { return HWY_TARGET; }

}  // namespace rs::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace rs::kernels {

HWY_EXPORT(ThisTarget);

int64_t compiled_simd_targets() { return HWY_TARGETS; }

std::vector<int64_t> simd_targets() { return hwy::SupportedAndGeneratedTargets(); }

int64_t dispatched_simd_target() { return HWY_DYNAMIC_DISPATCH(ThisTarget)(); }

std::string_view current_simd_target() { return hwy::TargetName(dispatched_simd_target()); }

}  // namespace rs::kernels
#endif  // HWY_ONCE
