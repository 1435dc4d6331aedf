#pragma once
// Listening sockets: one per shard on the same port (SO_REUSEPORT), so the
// kernel spreads connections over the shards without any shared accept queue.
#include <cstdint>
#include <string>

namespace rs::io {

// Binds host:port with SO_REUSEPORT and listens. Throws std::runtime_error
// naming the address on failure.
int open_listener(const std::string& host, uint16_t port);
uint16_t local_port(int fd);
std::string peer_name(int fd);

}  // namespace rs::io
