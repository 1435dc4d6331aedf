#include "io/buffer_ring.h"

#include <sys/mman.h>

#include <cstring>
#include <stdexcept>
#include <string>

namespace rs::io {

BufferRing::BufferRing(io_uring& ring, uint16_t group, unsigned count, size_t size)
    : ring_(ring), group_(group), count_(count), size_(size) {
  const size_t entries_bytes = count * sizeof(io_uring_buf);
  // Populated now: a first touch on a burst of new connections would fault every buffer in on the shard, one
  // page at a time (20 ms for 8 MiB where faults are slow, as in VMs), while requests wait to be answered.
  void* entries = mmap(nullptr, entries_bytes + count * size, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
  if (entries == MAP_FAILED) throw std::runtime_error("cannot allocate receive buffers");
  entries_ = static_cast<io_uring_buf_ring*>(entries);
  memory_ = static_cast<char*>(entries) + entries_bytes;

  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<uint64_t>(entries_);
  reg.ring_entries = count;
  reg.bgid = group;
  if (const int err = io_uring_register_buf_ring(&ring_, &reg, 0); err < 0) {
    munmap(entries_, entries_bytes + count * size);
    throw std::runtime_error(std::string("io_uring provided-buffer ring not supported by this kernel "
                                         "(needs Linux 5.19+): ") + std::strerror(-err));
  }
  io_uring_buf_ring_init(entries_);
  const int mask = io_uring_buf_ring_mask(count);
  for (unsigned i = 0; i < count; ++i) {
    io_uring_buf_ring_add(entries_, memory_ + i * size, size, i, mask, i);
  }
  io_uring_buf_ring_advance(entries_, count);
}

BufferRing::~BufferRing() {
  io_uring_unregister_buf_ring(&ring_, group_);
  munmap(entries_, count_ * sizeof(io_uring_buf) + count_ * size_);
}

std::string_view BufferRing::bytes(const io_uring_cqe& cqe) const {
  const unsigned id = cqe.flags >> IORING_CQE_BUFFER_SHIFT;
  return {memory_ + id * size_, static_cast<size_t>(cqe.res)};
}

void BufferRing::recycle(const io_uring_cqe& cqe) {
  const unsigned id = cqe.flags >> IORING_CQE_BUFFER_SHIFT;
  io_uring_buf_ring_add(entries_, memory_ + id * size_, size_, id, io_uring_buf_ring_mask(count_), 0);
  io_uring_buf_ring_advance(entries_, 1);
}

}  // namespace rs::io
