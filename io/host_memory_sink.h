#pragma once
// The CPU executor's sink: each file streams into one page-aligned buffer of
// its own, the whole-file image that tensors later point into, so bytes land
// where they are used and are never copied.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "io/file_stream.h"

namespace rs::io {

class HostMemorySink final : public StreamSink {
 public:
  HostMemorySink() = default;
  ~HostMemorySink() override;
  HostMemorySink(const HostMemorySink&) = delete;
  HostMemorySink& operator=(const HostMemorySink&) = delete;

  // Reserves the image (size rounded up to kDirectAlignment); pages are only
  // allocated as reads land in them. Throws std::runtime_error if it cannot.
  void opened(uint32_t file, uint64_t size) override;
  std::span<std::byte> destination(const FileRange& range) override;
  void landed(const FileRange&, std::span<const std::byte>) override {}

  // Once every file has landed: asks the kernel to back the images with huge
  // pages (MADV_COLLAPSE), so that streaming through the weights misses the
  // TLB far less. Returns the bytes collapsed; 0 where the kernel cannot (before
  // Linux 6.1, gVisor, no free huge pages), which only costs speed.
  uint64_t collapse_to_huge_pages() const;

  // File `file`'s bytes (its size, not rounded), valid while the sink lives;
  // the sink's owner may rewrite them (the CPU kernels' layouts).
  std::span<std::byte> image(uint32_t file);
  std::span<const std::byte> image(uint32_t file) const;

 private:
  struct Image {
    std::byte* memory = nullptr;
    uint64_t size = 0;
    uint64_t mapped = 0;  // size rounded up to kDirectAlignment
  };
  std::vector<Image> images_;
};

}  // namespace rs::io
