// Built where nvcc is absent: there is no device to load into.
#include <stdexcept>

#include "gpu/device_load.h"

namespace rs::gpu {
namespace {
constexpr char kNoCuda[] = "this build has no CUDA support (nvcc was not found at configure time)";
}  // namespace

void DeviceImages::release() noexcept { images_.clear(); }

void DeviceImages::copy_to_host(uint32_t, uint64_t, std::span<std::byte>) const {
  throw std::runtime_error(kNoCuda);
}

DeviceImages stream_to_device(const std::vector<std::string>&, int, const io::StreamOptions&, DeviceLoadResult&) {
  throw std::runtime_error(kNoCuda);
}

}  // namespace rs::gpu
