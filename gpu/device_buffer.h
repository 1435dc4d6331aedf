#pragma once
// Memory CUDA hands out, held like a unique_ptr: device memory (cudaMalloc),
// or pinned host memory (cudaHostAlloc) that copies to and from the device
// read asynchronously. Freed with its owner.
#include <cstddef>
#include <utility>

namespace rs::gpu {

class DeviceBuffer {
 public:
  enum class Where { device, pinned_host };

  DeviceBuffer() = default;
  // Throws std::runtime_error naming the size when there is no room.
  explicit DeviceBuffer(size_t bytes, Where where = Where::device);
  ~DeviceBuffer();
  DeviceBuffer(DeviceBuffer&& other) noexcept
      : memory_(std::exchange(other.memory_, nullptr)), bytes_(std::exchange(other.bytes_, 0)), where_(other.where_) {}
  DeviceBuffer& operator=(DeviceBuffer&& other) noexcept {
    std::swap(memory_, other.memory_);
    std::swap(bytes_, other.bytes_);
    std::swap(where_, other.where_);
    return *this;
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  std::byte* data() const { return memory_; }
  size_t size() const { return bytes_; }
  template <class T>
  T* as() const {
    return reinterpret_cast<T*>(memory_);
  }

 private:
  std::byte* memory_ = nullptr;
  size_t bytes_ = 0;
  Where where_ = Where::device;
};

}  // namespace rs::gpu
