// Built where nvcc is absent: there is no device to load into.
#include <stdexcept>

#include "gpu/device.h"
#include "gpu/device_load.h"

namespace rs::gpu {

void DeviceImages::release() noexcept { images_.clear(); }

void DeviceImages::copy_to_host(uint32_t, uint64_t, std::span<std::byte>) const {
  throw std::runtime_error(kNoCudaSupport);
}

DeviceImages stream_to_device(const std::vector<std::string>&, int, const io::StreamOptions&, DeviceLoadResult&) {
  throw std::runtime_error(kNoCudaSupport);
}

}  // namespace rs::gpu
