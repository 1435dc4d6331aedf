#include "gpu/device_buffer.h"

#include <string>

#include "gpu/cuda_check.h"

namespace rs::gpu {

DeviceBuffer::DeviceBuffer(size_t bytes, Where where) : bytes_(bytes), where_(where) {
  void** memory = reinterpret_cast<void**>(&memory_);
  if (where == Where::device) {
    check(cudaMalloc(memory, bytes > 0 ? bytes : 1), "cudaMalloc of " + std::to_string(bytes) + " bytes");
  } else {
    check(cudaHostAlloc(memory, bytes > 0 ? bytes : 1, cudaHostAllocDefault),
          "cudaHostAlloc of " + std::to_string(bytes) + " pinned bytes");
  }
}

DeviceBuffer::~DeviceBuffer() {
  if (memory_ == nullptr) return;
  if (where_ == Where::device) {
    cudaFree(memory_);
  } else {
    cudaFreeHost(memory_);
  }
}

}  // namespace rs::gpu
