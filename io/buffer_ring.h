#pragma once
// A provided-buffer ring: the kernel picks a free buffer for each multishot
// recv completion, and we hand it back as soon as its bytes are parsed.
#include <liburing.h>

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace rs::io {

class BufferRing {
 public:
  // Registers `count` (a power of two) buffers of `size` bytes as group `group`.
  BufferRing(io_uring& ring, uint16_t group, unsigned count, size_t size);
  ~BufferRing();
  BufferRing(const BufferRing&) = delete;
  BufferRing& operator=(const BufferRing&) = delete;

  uint16_t group() const { return group_; }
  std::string_view bytes(const io_uring_cqe& cqe) const;  // the data of a recv completion
  void recycle(const io_uring_cqe& cqe);

 private:
  io_uring& ring_;
  uint16_t group_;
  unsigned count_;
  size_t size_;
  io_uring_buf_ring* entries_ = nullptr;
  char* memory_ = nullptr;
};

}  // namespace rs::io
