#pragma once
// Operational endpoints: liveness, readiness and Prometheus metrics.
#include <atomic>
#include <memory>

#include "core/api/api_routes.h"
#include "core/model_service.h"
#include "io/server.h"

namespace rs {

// GET /health: 200 once the port is open. GET /ready: 503 until `model_ready`
// (the model is loaded and its warm-up step has run), then 200. GET /metrics:
// Prometheus text format, with the engine's and `api`'s metrics once `service` is set
// (before model_ready, which publishes it).
void add_health_endpoints(io::Server& server, const std::atomic<bool>& model_ready,
                          const std::unique_ptr<ModelService>& service, const api::Api* api = nullptr);

}  // namespace rs
