#include "core/kernels/targets.h"

#include "core/kernels/simd.h"
#include "hwy/highway.h"

namespace rs::kernels {

std::vector<int64_t> simd_targets() { return hwy::SupportedAndGeneratedTargets(); }

std::string_view current_simd_target() {
  const int64_t usable = hwy::SupportedTargets() & HWY_TARGETS;
  return hwy::TargetName(usable & -usable);  // the lowest bit is the best target
}

}  // namespace rs::kernels
