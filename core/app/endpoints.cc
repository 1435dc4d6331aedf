#include "core/app/endpoints.h"

#include "io/reply.h"

namespace rs {

void add_health_endpoints(io::Server& server, const std::atomic<bool>& model_ready, ModelMetrics model_metrics) {
  io::Router& router = server.router();
  router.add(io::Method::get, "/health", [](io::Request&, io::Reply reply) {
    io::Response response;
    response.body = io::Bytes::borrowed("{\"status\":\"ok\"}\n");
    reply.send(std::move(response));
  });
  router.add(io::Method::get, "/ready", [&model_ready](io::Request&, io::Reply reply) {
    if (!model_ready.load(std::memory_order_acquire)) {
      reply.send(io::error_response(503, "not ready: the model is loading"));
      return;
    }
    io::Response response;
    response.body = io::Bytes::borrowed("{\"status\":\"ready\"}\n");
    reply.send(std::move(response));
  });
  router.add(io::Method::get, "/metrics", [&server, &model_ready, model_metrics](io::Request&, io::Reply reply) {
    metrics::Exposition out;
    const bool ready = model_ready.load(std::memory_order_acquire);
    out.family("ringserve_ready", "gauge", "1 once a model is loaded and requests are served.");
    out.sample("ringserve_ready", {}, ready ? 1 : 0);
    server.render_metrics(out);
    if (ready && model_metrics) model_metrics(out);
    io::Response response;
    response.content_type = "text/plain; version=0.0.4; charset=utf-8";
    response.body = out.take();
    reply.send(std::move(response));
  });
}

}  // namespace rs
