#pragma once
// The OpenAI-compatible API on the HTTP server: /v1/chat/completions,
// /v1/completions, /v1/embeddings, /v1/models (and /v1/models/{id}), and vLLM's
// /tokenize and /detokenize. Routes
// are added before the server starts; they answer 503 until serve() hands
// them a loaded model and its engine.
#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/api/admission.h"
#include "core/api/openai_request.h"
#include "core/api/prompt.h"
#include "core/api/semantic_cache.h"
#include "core/api/serving_model.h"
#include "core/api/shard_streams.h"
#include "io/server.h"

namespace rs::api {

struct ApiOptions {
  std::string api_key;        // "" : no key needed
  uint32_t max_in_flight = 0;  // sequences running plus queued; beyond it, 429
  bool embedding_model = false;  // one will be served: until then /v1/embeddings is 503, not 404
  uint32_t max_embedding_inputs = 8192;  // inputs queued for the embedding model; beyond it, 429
  // --semantic-cache: built with the embedding model (dims are the model's)
  std::optional<cache::SemanticStoreOptions> semantic_cache = std::nullopt;
};

class Api {
 public:
  Api(io::Server& server, ApiOptions options);
  Api(const Api&) = delete;
  Api& operator=(const Api&) = delete;

  // Once the server has started, from any thread: serve `model` on `engine`
  // from now on. Both outlive the server's shards.
  void serve(const ServingModel& model, engine::Engine& engine);
  // Likewise for the embedding model, whose loading is independent of the LLM's; with ApiOptions::semantic_cache,
  // builds the semantic cache over it and returns it (to be filled from a file before ready), else null.
  SemanticCache* serve_embeddings(const ServingEncoder& encoder);

  uint32_t in_flight() const { return admission_.in_flight(); }
  // The API's own metrics (how sequences ended), once serving.
  void render_metrics(metrics::Exposition& out) const;

 private:
  void add_routes();
  bool authorized(const io::Request& request, io::Reply& reply) const;
  const ServingModel* model_or_503(io::Reply& reply) const;
  void complete(io::Request& request, io::Reply reply, Endpoint endpoint);
  // Runs a request the semantic cache did not answer; `query` and `vector`: store its answer when it ends.
  void run_completion(const ServingModel& model, CompletionRequest parsed, std::vector<PreparedPrompt> prompts,
                      io::Reply reply, AdmissionTicket ticket, std::optional<SemanticQuery> query,
                      std::vector<float> vector);
  void tokenize(io::Request& request, io::Reply reply);
  void detokenize(io::Request& request, io::Reply reply);
  void embeddings(io::Request& request, io::Reply reply);
  void models(io::Reply reply);
  void model(std::string_view id, io::Reply reply);

  io::Server& server_;
  ApiOptions options_;
  Admission admission_;
  Admission embedding_admission_;  // in inputs
  std::vector<std::unique_ptr<ShardStreams>> streams_;  // by shard index
  std::atomic<const ServingModel*> model_{nullptr};
  std::atomic<const ServingEncoder*> encoder_{nullptr};
  std::unique_ptr<SemanticCache> semantic_owned_;
  std::atomic<SemanticCache*> semantic_{nullptr};
};

}  // namespace rs::api
