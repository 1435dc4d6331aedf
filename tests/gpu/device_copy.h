#pragma once
// Helpers for the GPU tests: device copies of host vectors, and the skip
// where no CUDA device is visible.
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "gpu/device.h"

namespace rs::gpu {

#define RS_SKIP_WITHOUT_CUDA_DEVICE()                                                   \
  do {                                                                                  \
    std::string why_none;                                                               \
    if (visible_devices(why_none).empty()) GTEST_SKIP() << "no CUDA device: " << why_none; \
  } while (false)

// Device memory holding a copy of `values`, freed with it.
template <class T>
class DeviceCopy {
 public:
  explicit DeviceCopy(const std::vector<T>& values) : size_(values.size()) {
    EXPECT_EQ(cudaMalloc(&memory_, std::max<size_t>(1, size_ * sizeof(T))), cudaSuccess);
    EXPECT_EQ(cudaMemcpy(memory_, values.data(), size_ * sizeof(T), cudaMemcpyHostToDevice), cudaSuccess);
  }
  ~DeviceCopy() { cudaFree(memory_); }
  DeviceCopy(const DeviceCopy&) = delete;
  DeviceCopy& operator=(const DeviceCopy&) = delete;

  T* get() const { return static_cast<T*>(memory_); }
  std::vector<T> to_host() const {
    std::vector<T> out(size_);
    EXPECT_EQ(cudaMemcpy(out.data(), memory_, size_ * sizeof(T), cudaMemcpyDeviceToHost), cudaSuccess);
    return out;
  }

 private:
  void* memory_ = nullptr;
  size_t size_;
};

}  // namespace rs::gpu
