#include "io/socket_driver.h"

#include "io/io_uring_probe.h"

namespace rs::io {

std::string_view to_string(IoBackend backend) {
  switch (backend) {
    case IoBackend::automatic: return "auto";
    case IoBackend::io_uring: return "io_uring";
    case IoBackend::epoll: return "epoll";
  }
  return "?";
}

IoBackend resolve(IoBackend backend) {
  if (backend != IoBackend::automatic) return backend;
  return io_uring_permitted() ? IoBackend::io_uring : IoBackend::epoll;
}

}  // namespace rs::io
