#include "io/host_memory_sink.h"

#include <sys/mman.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace rs::io {

HostMemorySink::~HostMemorySink() {
  for (const Image& image : images_) {
    if (image.mapped > 0) munmap(image.memory, image.mapped);
  }
}

void HostMemorySink::opened(uint32_t file, uint64_t size) {
  if (images_.size() <= file) images_.resize(file + 1);
  Image& image = images_[file];
  image.size = size;
  image.mapped = (size + kDirectAlignment - 1) / kDirectAlignment * kDirectAlignment;
  if (image.mapped == 0) return;
  // Anonymous mappings are page-aligned, as O_DIRECT needs, and allocate pages only when touched.
  void* memory =
      mmap(nullptr, image.mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (memory == MAP_FAILED) {
    image.mapped = 0;
    throw std::runtime_error(fmt::format("cannot reserve {} bytes for the image of file {}: {}",
                                         size, file, std::strerror(errno)));
  }
  image.memory = static_cast<std::byte*>(memory);
}

uint64_t HostMemorySink::collapse_to_huge_pages() const {
#ifndef MADV_COLLAPSE
  constexpr int MADV_COLLAPSE = 25;  // Linux 6.1; glibc 2.36's headers predate it
#endif
  constexpr uint64_t kHugePage = 2u << 20;
  uint64_t collapsed = 0;
  for (const Image& image : images_) {
    // Whole huge pages inside the image: the kernel collapses aligned 2 MiB ranges.
    const auto begin = (reinterpret_cast<uintptr_t>(image.memory) + kHugePage - 1) / kHugePage * kHugePage;
    const auto end = (reinterpret_cast<uintptr_t>(image.memory) + image.mapped) / kHugePage * kHugePage;
    if (end <= begin) continue;
    if (madvise(reinterpret_cast<void*>(begin), end - begin, MADV_COLLAPSE) == 0) collapsed += end - begin;
  }
  return collapsed;
}

std::span<std::byte> HostMemorySink::destination(const FileRange& range) {
  const Image& image = images_.at(range.file);
  return {image.memory + range.offset, image.mapped - range.offset};
}

std::span<std::byte> HostMemorySink::image(uint32_t file) {
  const Image& image = images_.at(file);
  return {image.memory, image.size};
}

std::span<const std::byte> HostMemorySink::image(uint32_t file) const {
  const Image& image = images_.at(file);
  return {image.memory, image.size};
}

}  // namespace rs::io
