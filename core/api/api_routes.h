#pragma once
// The OpenAI-compatible API on the HTTP server: /v1/chat/completions,
// /v1/completions, /v1/models (and /v1/models/{id}), and vLLM's /tokenize and
// /detokenize. Routes
// are added before the server starts; they answer 503 until serve() hands
// them a loaded model and its engine.
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "core/api/admission.h"
#include "core/api/openai_request.h"
#include "core/api/serving_model.h"
#include "core/api/shard_streams.h"
#include "io/server.h"

namespace rs::api {

struct ApiOptions {
  std::string api_key;        // "" : no key needed
  uint32_t max_in_flight = 0;  // sequences running plus queued; beyond it, 429
};

class Api {
 public:
  Api(io::Server& server, ApiOptions options);
  Api(const Api&) = delete;
  Api& operator=(const Api&) = delete;

  // Once the server has started, from any thread: serve `model` on `engine`
  // from now on. Both outlive the server's shards.
  void serve(const ServingModel& model, engine::Engine& engine);

  uint32_t in_flight() const { return admission_.in_flight(); }
  // The API's own metrics (how sequences ended), once serving.
  void render_metrics(metrics::Exposition& out) const;

 private:
  void add_routes();
  bool authorized(const io::Request& request, io::Reply& reply) const;
  const ServingModel* model_or_503(io::Reply& reply) const;
  void complete(io::Request& request, io::Reply reply, Endpoint endpoint);
  void tokenize(io::Request& request, io::Reply reply);
  void detokenize(io::Request& request, io::Reply reply);
  void models(io::Reply reply);
  void model(std::string_view id, io::Reply reply);

  io::Server& server_;
  ApiOptions options_;
  Admission admission_;
  std::vector<std::unique_ptr<ShardStreams>> streams_;  // by shard index
  std::atomic<const ServingModel*> model_{nullptr};
};

}  // namespace rs::api
