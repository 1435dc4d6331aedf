// device_copy_gb_s: a large device-to-device copy timed with CUDA events.
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "gpu/bandwidth.h"
#include "gpu/cuda_check.h"
#include "gpu/device_buffer.h"

namespace rs::gpu {
namespace {

constexpr size_t kCopyBytes = size_t(2) << 30;
constexpr size_t kMinCopyBytes = size_t(64) << 20;  // under this, launch overhead would dominate
constexpr int kWarmups = 3;
constexpr int kCopies = 20;

// Random-looking non-zero words (splitmix64 of the index, low bit set): never time a copy of zeros.
__global__ void fill_kernel(uint64_t* words, size_t count, uint64_t salt) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < count; i += size_t(gridDim.x) * blockDim.x) {
    uint64_t x = i + salt + 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    words[i] = (x ^ (x >> 31)) | 1;
  }
}

class Stream {
 public:
  Stream() { check(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreate"); }
  ~Stream() { cudaStreamDestroy(stream_); }
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
  cudaStream_t get() const { return stream_; }

 private:
  cudaStream_t stream_ = nullptr;
};

class Event {
 public:
  Event() { check(cudaEventCreate(&event_), "cudaEventCreate"); }
  ~Event() { cudaEventDestroy(event_); }
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;
  cudaEvent_t get() const { return event_; }

 private:
  cudaEvent_t event_ = nullptr;
};

void fill(const DeviceBuffer& buffer, uint64_t salt, cudaStream_t stream) {
  const size_t words = buffer.size() / sizeof(uint64_t);
  fill_kernel<<<1024, 256, 0, stream>>>(buffer.as<uint64_t>(), words, salt);
  check_launch("fill_kernel");
}

}  // namespace

double device_copy_gb_s(int device) {
  check(cudaSetDevice(device), "cudaSetDevice");
  size_t free = 0, total = 0;
  check(cudaMemGetInfo(&free, &total), "cudaMemGetInfo");
  // Two buffers and room to spare; whole 1 MiB pieces.
  const size_t bytes = std::min(kCopyBytes, free / 3) / (size_t(1) << 20) * (size_t(1) << 20);
  if (bytes < kMinCopyBytes) {
    throw std::runtime_error("device " + std::to_string(device) + " has " + std::to_string(free >> 20) +
                             " MiB free, too little to measure its copy bandwidth");
  }
  const DeviceBuffer source(bytes), destination(bytes);
  const Stream stream;
  fill(source, 1, stream.get());
  fill(destination, 2, stream.get());
  for (int i = 0; i < kWarmups; ++i) {
    check(cudaMemcpyAsync(destination.data(), source.data(), bytes, cudaMemcpyDeviceToDevice, stream.get()),
          "cudaMemcpyAsync (warm-up)");
  }
  std::vector<Event> starts(kCopies), ends(kCopies);
  for (int i = 0; i < kCopies; ++i) {
    check(cudaEventRecord(starts[i].get(), stream.get()), "cudaEventRecord");
    check(cudaMemcpyAsync(destination.data(), source.data(), bytes, cudaMemcpyDeviceToDevice, stream.get()),
          "cudaMemcpyAsync");
    check(cudaEventRecord(ends[i].get(), stream.get()), "cudaEventRecord");
  }
  check(cudaStreamSynchronize(stream.get()), "cudaStreamSynchronize after the copies");
  std::vector<float> ms(kCopies);
  for (int i = 0; i < kCopies; ++i) {
    check(cudaEventElapsedTime(&ms[i], starts[i].get(), ends[i].get()), "cudaEventElapsedTime");
  }
  std::nth_element(ms.begin(), ms.begin() + kCopies / 2, ms.end());
  const double seconds = double(ms[kCopies / 2]) * 1e-3;
  if (!(seconds > 0)) throw std::runtime_error("the device copies timed at zero seconds");
  return 2.0 * double(bytes) / seconds / 1e9;  // every byte read once and written once
}

}  // namespace rs::gpu
