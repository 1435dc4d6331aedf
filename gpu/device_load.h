#pragma once
// Model files streamed from disk into one CUDA device's memory: O_DIRECT reads
// land in a ring of pinned staging buffers, each copied to the device on a copy
// stream while the next reads are in flight. Host memory stays at the ring's
// size whatever the model's; no host copy of the model is ever made.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "io/file_stream.h"

namespace rs::gpu {

// The files' bytes in device memory, one allocation per file, freed with it.
class DeviceImages {
 public:
  DeviceImages() = default;
  explicit DeviceImages(int device) : device_(device) {}
  ~DeviceImages() { release(); }
  DeviceImages(DeviceImages&& other) noexcept { *this = std::move(other); }
  DeviceImages& operator=(DeviceImages&& other) noexcept {
    if (this != &other) {
      release();
      device_ = other.device_;
      images_ = std::move(other.images_);
      other.images_.clear();
    }
    return *this;
  }
  DeviceImages(const DeviceImages&) = delete;
  DeviceImages& operator=(const DeviceImages&) = delete;

  int device() const { return device_; }
  size_t files() const { return images_.size(); }
  // File `file`'s device address (not dereferenceable on the host) and size.
  const std::byte* image(uint32_t file) const { return images_.at(file).memory; }
  uint64_t size(uint32_t file) const { return images_.at(file).size; }

  // Copies `out.size()` bytes from `offset` of file `file` back to the host
  // (tests, and checks). Throws std::out_of_range past the file's end.
  void copy_to_host(uint32_t file, uint64_t offset, std::span<std::byte> out) const;

 private:
  friend class DeviceMemorySink;
  struct Image {
    std::byte* memory = nullptr;
    uint64_t size = 0;
  };
  void release() noexcept;

  int device_ = 0;
  std::vector<Image> images_;
};

struct DeviceLoadResult {
  io::StreamResult stream;     // bytes, seconds from the first read to the last copy, direct
  uint64_t staging_bytes = 0;  // pinned host memory the ring used
};

// Streams `paths` into device `device`. The ring has options.depth + 2 slots of
// options.chunk_bytes: every read in flight has one, and two more let copies
// run behind the reads. Throws std::runtime_error naming the CUDA call and
// error (or saying the build has no CUDA), or the loader's errors.
DeviceImages stream_to_device(const std::vector<std::string>& paths, int device, const io::StreamOptions& options,
                              DeviceLoadResult& result);

}  // namespace rs::gpu
