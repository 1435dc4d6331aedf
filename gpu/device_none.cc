// Built where nvcc is absent: there is never a device.
#include "gpu/device.h"

namespace rs::gpu {

bool built_with_cuda() { return false; }

std::vector<Device> visible_devices(std::string& why_none) {
  why_none = "this build has no CUDA support (nvcc was not found at configure time)";
  return {};
}

}  // namespace rs::gpu
