#pragma once
// The HTTP server on an ephemeral loopback port with the OpenAI API on it, as serve wires them, for end-to-end
// tests that bring their own models and hand them to api().
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/api/api_routes.h"
#include "io/server.h"
#include "tests/support/http_client.h"

namespace rs::test {

// Started on construction, on one unpinned shard; its routes answer 503 until a model is served through api().
class LoopbackApi {
 public:
  explicit LoopbackApi(const api::ApiOptions& options) {
    io::ServerConfig config;
    config.host = "127.0.0.1";
    config.port = 0;
    config.pin_shards = false;
    server_ = std::make_unique<io::Server>(config);
    api_ = std::make_unique<api::Api>(*server_, options);
    server_->start();
  }
  ~LoopbackApi() { stop(); }  // the shards call into the API, so they go first

  // Stops and joins the shards; an owner calls it before the models the API serves are destroyed.
  void stop() {
    server_->stop();
    server_->wait();
  }

  api::Api& api() { return *api_; }

  // POSTs the JSON `body` to `target` on a fresh connection.
  std::optional<HttpResponse> post(std::string_view target, std::string_view body) const {
    return fetch(server_->port(), "POST " + std::string(target) +
                                      " HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: " +
                                      std::to_string(body.size()) + "\r\n\r\n" + std::string(body));
  }

 private:
  std::unique_ptr<io::Server> server_;
  std::unique_ptr<api::Api> api_;
};

}  // namespace rs::test
