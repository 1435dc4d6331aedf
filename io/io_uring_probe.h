#pragma once
// Whether this process may use io_uring. Container runtimes' default seccomp profiles (Docker 25+,
// containerd 2, GKE's RuntimeDefault) and kernel.io_uring_disabled refuse it; then sockets go through
// epoll and files through pread.

namespace rs::io {

// Probed once; the first probe that finds io_uring refused logs why and what ringserve does instead.
bool io_uring_permitted();

}  // namespace rs::io
