#pragma once
// Everything the HTTP front end is told at start-up; flags map onto it 1:1.
#include <chrono>
#include <cstddef>
#include <string>

#include "io/request_parser.h"
#include "io/socket_driver.h"

namespace rs::io {

using Seconds = std::chrono::duration<double>;

struct ServerConfig {
  std::string host = "0.0.0.0";
  uint16_t port = 8080;                  // 0: an ephemeral port (see Server::port())
  int shards = 1;
  bool pin_shards = true;                // pin shard k to the k-th allowed CPU
  IoBackend io_backend = IoBackend::automatic;  // io_uring where permitted, else epoll
  size_t max_connections = 2048;         // per shard; beyond it, answered 503 and closed
  ParseLimits limits;                    // 431 / 413
  Seconds header_timeout{10.0};          // first byte of a request to end of its headers: 408
  Seconds body_timeout{60.0};            // end of headers to end of body: 408
  Seconds idle_timeout{60.0};            // keep-alive connection with nothing to do: closed
  Seconds write_timeout{30.0};           // output waiting and no byte taken by the socket: closed, work cancelled
  Seconds drain_timeout{8.0};            // SIGTERM: in-flight requests get this long
  size_t max_output_bytes = 4 << 20;     // unsent stream bytes one slow reader may pile up before it is cancelled
  size_t max_unsent_bytes = size_t(256) << 20;  // unsent bytes across all connections: new large responses get 503
  size_t max_pipeline = 16;              // parsed requests awaiting a response per connection; then reading pauses
  bool access_log = false;
  std::string cors_origin;               // Access-Control-Allow-Origin on every response; "" : no CORS headers
};

}  // namespace rs::io
