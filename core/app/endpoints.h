#pragma once
// Operational endpoints: liveness, readiness and Prometheus metrics.
#include <atomic>
#include <functional>

#include "core/base/metrics.h"
#include "io/server.h"

namespace rs {

// What /metrics adds once the model is ready: the engine's and the API's metrics.
using ModelMetrics = std::function<void(metrics::Exposition&)>;

// GET /health: 200 once the port is open. GET /ready: 503 until `model_ready`
// (the model is loaded and its warm-up step has run), then 200. GET /metrics:
// Prometheus text format: the HTTP server's, and `model_metrics` once ready.
void add_health_endpoints(io::Server& server, const std::atomic<bool>& model_ready,
                          ModelMetrics model_metrics = {});

}  // namespace rs
