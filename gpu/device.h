#pragma once
// Which CUDA devices this process can use. Later the CUDA executor picks one.
#include <cstddef>
#include <string>
#include <vector>

namespace rs::gpu {

struct Device {
  int index = 0;
  std::string name;
  size_t memory_bytes = 0;
  int compute_major = 0;
  int compute_minor = 0;
};

// What the stand-ins of a build without nvcc say when asked for a device.
inline constexpr char kNoCudaSupport[] = "this build has no CUDA support (nvcc was not found at configure time)";

bool built_with_cuda();
// The visible devices; when there are none, `why_none` says why.
std::vector<Device> visible_devices(std::string& why_none);

}  // namespace rs::gpu
