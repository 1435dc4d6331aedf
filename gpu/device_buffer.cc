#include "gpu/device_buffer.h"

#include <string>

#include "gpu/cuda_check.h"

namespace rs::gpu {

DeviceBuffer::DeviceBuffer(size_t bytes) : bytes_(bytes) {
  check(cudaMalloc(reinterpret_cast<void**>(&memory_), bytes > 0 ? bytes : 1),
        "cudaMalloc of " + std::to_string(bytes) + " bytes");
}

DeviceBuffer::~DeviceBuffer() {
  if (memory_ != nullptr) cudaFree(memory_);
}

}  // namespace rs::gpu
