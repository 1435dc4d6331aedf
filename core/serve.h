#pragma once
// `ringserve serve`: the HTTP server until SIGTERM / SIGINT.
#include <CLI/CLI.hpp>

#include "io/server_config.h"

namespace rs {

struct ServeOptions {
  io::ServerConfig server;
  double header_timeout_s = 10;
  double body_timeout_s = 60;
  double idle_timeout_s = 60;
  double drain_timeout_s = 8;
  bool no_pin = false;
};

int serve(ServeOptions options);

}  // namespace rs
