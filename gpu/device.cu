#include <cuda_runtime.h>

#include "gpu/device.h"

namespace rs::gpu {

bool built_with_cuda() { return true; }

std::vector<Device> visible_devices(std::string& why_none) {
  std::vector<Device> devices;
  int count = 0;
  if (const cudaError_t err = cudaGetDeviceCount(&count); err != cudaSuccess) {
    why_none = cudaGetErrorString(err);
    if (err == cudaErrorInsufficientDriver || err == cudaErrorNoDevice) {
      why_none += "; is an NVIDIA GPU with its driver visible to this container?";
    }
    return devices;
  }
  for (int i = 0; i < count; ++i) {
    cudaDeviceProp prop{};
    if (cudaGetDeviceProperties(&prop, i) != cudaSuccess) continue;
    devices.push_back({i, prop.name, prop.totalGlobalMem, prop.major, prop.minor});
  }
  if (devices.empty()) why_none = "no CUDA device visible";
  return devices;
}

}  // namespace rs::gpu
