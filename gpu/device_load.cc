// The disk → GPU loader: the loader's sink for a ring of pinned staging slots,
// each recycled once the copy of its chunk to the device has completed.
#include "gpu/device_load.h"

#include <cuda_runtime.h>

#include <chrono>
#include <deque>
#include <stdexcept>
#include <string>

#include "gpu/cuda_check.h"

namespace rs::gpu {

// Slots go free → reading (given to a read) → copying (landed; its copy queued)
// → free again once the copy's event has completed. Copies run in order on one
// stream, so the oldest copying slot is always the next to come free.
class DeviceMemorySink final : public io::StreamSink {
 public:
  DeviceMemorySink(DeviceImages& images, size_t slot_bytes, size_t slots)
      : images_(images), slot_bytes_(slot_bytes), events_(slots) {
    check(cudaSetDevice(images.device_), "cudaSetDevice(" + std::to_string(images.device_) + ")");
    check(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreate");
    check(cudaHostAlloc(reinterpret_cast<void**>(&staging_), slots * slot_bytes, cudaHostAllocDefault),
          "cudaHostAlloc of " + std::to_string(slots * slot_bytes) + " staging bytes");
    for (size_t slot = 0; slot < slots; ++slot) {
      check(cudaEventCreateWithFlags(&events_[slot], cudaEventDisableTiming), "cudaEventCreate");
      free_.push_back(slot);
    }
  }

  ~DeviceMemorySink() override {
    if (stream_ != nullptr) cudaStreamSynchronize(stream_);  // copies may still read the staging memory
    for (cudaEvent_t event : events_) {
      if (event != nullptr) cudaEventDestroy(event);
    }
    if (staging_ != nullptr) cudaFreeHost(staging_);
    if (stream_ != nullptr) cudaStreamDestroy(stream_);
  }

  DeviceMemorySink(const DeviceMemorySink&) = delete;
  DeviceMemorySink& operator=(const DeviceMemorySink&) = delete;

  uint64_t staging_bytes() const { return events_.size() * slot_bytes_; }

  void opened(uint32_t file, uint64_t size) override {
    if (images_.images_.size() <= file) images_.images_.resize(file + 1);
    DeviceImages::Image& image = images_.images_[file];
    check(cudaMalloc(reinterpret_cast<void**>(&image.memory), size > 0 ? size : 1),
          "cudaMalloc of " + std::to_string(size) + " bytes for file " + std::to_string(file));
    image.size = size;
  }

  std::span<std::byte> destination(const io::FileRange& range) override {
    if (range.bytes > slot_bytes_) {
      throw std::logic_error("DeviceMemorySink: a read of " + std::to_string(range.bytes) + " bytes, slots hold " +
                             std::to_string(slot_bytes_));
    }
    if (free_.empty() && !copying_.empty()) {  // wait for the oldest copy rather than for a read
      check(cudaEventSynchronize(events_[copying_.front()]), "cudaEventSynchronize");
      free_.push_back(copying_.front());
      copying_.pop_front();
    }
    if (free_.empty()) return {};  // every slot holds a read in flight: one lands first
    const size_t slot = free_.back();
    free_.pop_back();
    return {staging_ + slot * slot_bytes_, slot_bytes_};
  }

  void landed(const io::FileRange& range, std::span<const std::byte> bytes) override {
    const size_t slot = size_t(bytes.data() - staging_) / slot_bytes_;
    DeviceImages::Image& image = images_.images_.at(range.file);
    check(cudaMemcpyAsync(image.memory + range.offset, bytes.data(), range.bytes, cudaMemcpyHostToDevice, stream_),
          "cudaMemcpyAsync of " + std::to_string(range.bytes) + " bytes");
    check(cudaEventRecord(events_[slot], stream_), "cudaEventRecord");
    copying_.push_back(slot);
  }

  // Waits for the last copies.
  void finish() { check(cudaStreamSynchronize(stream_), "cudaStreamSynchronize"); }

 private:
  DeviceImages& images_;
  const size_t slot_bytes_;
  std::byte* staging_ = nullptr;
  cudaStream_t stream_ = nullptr;
  std::vector<cudaEvent_t> events_;  // per slot: its last copy done
  std::vector<size_t> free_;
  std::deque<size_t> copying_;  // in the order their copies were queued
};

void DeviceImages::release() noexcept {
  if (images_.empty()) return;
  cudaSetDevice(device_);
  for (const Image& image : images_) {
    if (image.memory != nullptr) cudaFree(image.memory);
  }
  images_.clear();
}

void DeviceImages::copy_to_host(uint32_t file, uint64_t offset, std::span<std::byte> out) const {
  const Image& image = images_.at(file);
  if (offset > image.size || out.size() > image.size - offset) {
    throw std::out_of_range("DeviceImages: bytes past the end of file " + std::to_string(file));
  }
  check(cudaSetDevice(device_), "cudaSetDevice");
  check(cudaMemcpy(out.data(), image.memory + offset, out.size(), cudaMemcpyDeviceToHost), "cudaMemcpy to the host");
}

DeviceImages stream_to_device(const std::vector<std::string>& paths, int device, const io::StreamOptions& options,
                              DeviceLoadResult& result) {
  DeviceImages images(device);
  const auto start = std::chrono::steady_clock::now();
  DeviceMemorySink sink(images, options.chunk_bytes, size_t(options.depth) + 2);
  result.stream = io::stream_files(paths, sink, options);
  sink.finish();
  result.stream.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  result.staging_bytes = sink.staging_bytes();
  return images;
}

}  // namespace rs::gpu
