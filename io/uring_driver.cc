#include "io/uring_driver.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "core/base/log.h"

namespace rs::io {
namespace {

constexpr unsigned kRingEntries = 4096;
constexpr uint16_t kBufferGroup = 0;
constexpr unsigned kBufferCount = 512;
constexpr uint64_t kInternal = 0;  // tag of the driver's own cancellations: never delivered

}  // namespace

UringDriver::UringDriver(const DriverOptions& options, Handler handler)
    : options_(options), handler_(std::move(handler)) {
  io_uring_params params{};
  params.flags = IORING_SETUP_CQSIZE | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
  params.cq_entries = kRingEntries * 4;
  int err = io_uring_queue_init_params(kRingEntries, &ring_, &params);
  if (err == -EINVAL) {  // kernels before 6.1 lack DEFER_TASKRUN
    params = {};
    params.flags = IORING_SETUP_CQSIZE;
    params.cq_entries = kRingEntries * 4;
    err = io_uring_queue_init_params(kRingEntries, &ring_, &params);
  }
  if (err < 0) {
    throw std::runtime_error(
        fmt::format("io_uring_queue_init: {} (is io_uring disabled, e.g. by "
                    "a seccomp profile or kernel.io_uring_disabled?)",
                    std::strerror(-err)));
  }
  try {
    buffers_ = std::make_unique<BufferRing>(ring_, kBufferGroup, kBufferCount, kReceiveBufferBytes);
  } catch (...) {
    io_uring_queue_exit(&ring_);
    throw;
  }
  // Registered files spare each socket operation a file lookup and refcount.
  const unsigned slots = unsigned(options.max_sockets + options.max_sockets / 8 + 16);
  if (io_uring_register_files_sparse(&ring_, slots) == 0) {
    for (int slot = int(slots) - 1; slot >= 0; --slot) free_slots_.push_back(slot);
  } else {
    log::debug("shard {}: no registered-file table (kernel < 5.19?); using plain descriptors", options.shard);
  }
}

UringDriver::~UringDriver() {
  buffers_.reset();             // unregisters first: no recv can pick these buffers once it returns
  io_uring_queue_exit(&ring_);  // cancels whatever was still in flight
}

io_uring_sqe* UringDriver::sqe() {
  io_uring_sqe* s = io_uring_get_sqe(&ring_);
  while (s == nullptr) {  // submission queue full: hand what we have to the kernel
    io_uring_submit(&ring_);
    s = io_uring_get_sqe(&ring_);
  }
  return s;
}

// After the prep (which writes the descriptor): name the socket's registered slot where it has one.
void UringDriver::use_slot(io_uring_sqe* s, int fd) const {
  if (fd < int(slot_of_fd_.size()) && slot_of_fd_[fd] >= 0) {
    s->fd = slot_of_fd_[fd];
    s->flags |= IOSQE_FIXED_FILE;
  }
}

void UringDriver::cancel(uint64_t tag) {
  io_uring_sqe* s = sqe();
  io_uring_prep_cancel64(s, tag, 0);
  io_uring_sqe_set_data64(s, kInternal);
}

void UringDriver::accept(int listen_fd, uint64_t tag) {
  io_uring_sqe* s = sqe();
  io_uring_prep_multishot_accept(s, listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
  io_uring_sqe_set_data64(s, tag);
}

void UringDriver::cancel_accept(uint64_t tag) { cancel(tag); }

void UringDriver::read(int fd, void* into, size_t bytes, uint64_t tag) {
  io_uring_sqe* s = sqe();
  io_uring_prep_read(s, fd, into, unsigned(bytes), 0);
  io_uring_sqe_set_data64(s, tag);
}

void UringDriver::timeout(std::chrono::nanoseconds after, uint64_t tag) {
  timeout_.tv_sec = after.count() / 1'000'000'000;
  timeout_.tv_nsec = after.count() % 1'000'000'000;
  io_uring_sqe* s = sqe();
  io_uring_prep_timeout(s, &timeout_, 0, 0);
  io_uring_sqe_set_data64(s, tag);
}

void UringDriver::adopt(int fd) {
  if (free_slots_.empty() || io_uring_register_files_update(&ring_, free_slots_.back(), &fd, 1) != 1) return;
  if (fd >= int(slot_of_fd_.size())) slot_of_fd_.resize(size_t(fd) + 1, -1);
  slot_of_fd_[fd] = free_slots_.back();
  free_slots_.pop_back();
}

void UringDriver::forget(int fd) {
  if (fd >= int(slot_of_fd_.size()) || slot_of_fd_[fd] < 0) return;
  const int empty = -1;
  io_uring_register_files_update(&ring_, slot_of_fd_[fd], &empty, 1);
  free_slots_.push_back(slot_of_fd_[fd]);
  slot_of_fd_[fd] = -1;
}

void UringDriver::recv(int fd, uint64_t tag) {
  io_uring_sqe* s = sqe();
  io_uring_prep_recv_multishot(s, fd, nullptr, 0, 0);
  use_slot(s, fd);
  s->flags |= IOSQE_BUFFER_SELECT;
  s->buf_group = kBufferGroup;
  io_uring_sqe_set_data64(s, tag);
}

void UringDriver::cancel_recv([[maybe_unused]] int fd, uint64_t tag) { cancel(tag); }

void UringDriver::send(int fd, const msghdr& message, uint64_t tag) {
  io_uring_sqe* s = sqe();
  if (message.msg_iovlen == 1) {
    io_uring_prep_send(s, fd, message.msg_iov[0].iov_base, message.msg_iov[0].iov_len, MSG_NOSIGNAL);
  } else {
    io_uring_prep_sendmsg(s, fd, &message, MSG_NOSIGNAL);
  }
  use_slot(s, fd);
  io_uring_sqe_set_data64(s, tag);
}

void UringDriver::cancel_all(int fd) {
  io_uring_sqe* s = sqe();
  io_uring_prep_cancel_fd(s, fd, IORING_ASYNC_CANCEL_ALL);
  io_uring_sqe_set_data64(s, kInternal);
}

void UringDriver::wait() {
  const int err = io_uring_submit_and_wait(&ring_, 1);
  if (err < 0 && err != -EINTR && err != -EAGAIN && err != -EBUSY) {
    log::error("shard {}: io_uring_submit_and_wait: {}", options_.shard, std::strerror(-err));
  }
  unsigned head;
  unsigned seen = 0;
  io_uring_cqe* cqe;
  io_uring_for_each_cqe(&ring_, head, cqe) {
    deliver(*cqe);
    ++seen;
  }
  io_uring_cq_advance(&ring_, seen);
}

void UringDriver::deliver(const io_uring_cqe& cqe) {
  const uint64_t tag = io_uring_cqe_get_data64(&cqe);
  if (tag == kInternal) return;
  Completion completion{tag, cqe.res, (cqe.flags & IORING_CQE_F_MORE) != 0, {}};
  const bool buffer = cqe.flags & IORING_CQE_F_BUFFER;
  if (buffer && cqe.res > 0) completion.data = buffers_->bytes(cqe);
  handler_(completion);
  if (buffer) buffers_->recycle(cqe);
}

}  // namespace rs::io
