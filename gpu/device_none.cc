// Built where nvcc is absent: there is never a device.
#include <stdexcept>

#include "gpu/bandwidth.h"
#include "gpu/device.h"

namespace rs::gpu {

bool built_with_cuda() { return false; }

std::vector<Device> visible_devices(std::string& why_none) {
  why_none = kNoCudaSupport;
  return {};
}

double device_copy_gb_s(int) { throw std::runtime_error(kNoCudaSupport); }

}  // namespace rs::gpu
