#include "io/io_uring_probe.h"

#include <liburing.h>

#include <cstring>

#include "core/base/log.h"

namespace rs::io {

bool io_uring_permitted() {
  static const bool permitted = [] {
    io_uring ring{};
    const int err = io_uring_queue_init(2, &ring, 0);
    if (err == 0) {
      io_uring_queue_exit(&ring);
      return true;
    }
    log::warn(
        "io_uring is not available to this process ({}): a seccomp profile refuses it (Docker's and "
        "containerd's defaults, GKE's RuntimeDefault) or kernel.io_uring_disabled is set. Going on with "
        "epoll for sockets and plain reads for files: everything works, at some cost in throughput. To "
        "use io_uring, allow io_uring_setup, io_uring_enter and io_uring_register in the profile.",
        std::strerror(-err));
    return false;
  }();
  return permitted;
}

}  // namespace rs::io
