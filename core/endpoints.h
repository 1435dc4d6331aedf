#pragma once
// Operational endpoints: liveness, readiness and Prometheus metrics.
#include <atomic>

#include "io/server.h"

namespace rs {

// GET /health: 200 once the port is open. GET /ready: 503 until `model_ready`,
// then 200. GET /metrics: Prometheus text format.
void add_health_endpoints(io::Server& server, const std::atomic<bool>& model_ready);

}  // namespace rs
