#include "core/api/api_routes.h"

#include <fmt/format.h>

#include "core/api/completion.h"
#include "core/api/embeddings.h"
#include "core/api/openai_response.h"
#include "core/api/prompt.h"
#include "core/api/structured_output.h"
#include "core/base/json_write.h"

namespace rs::api {
namespace {

// Same time whatever the key's first wrong byte: no timing oracle for guessing it.
bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char difference = 0;
  for (size_t i = 0; i < a.size(); ++i) difference |= static_cast<unsigned char>(a[i] ^ b[i]);
  return difference == 0;
}

io::Response json_response(std::string body) {
  io::Response response;
  response.body = std::move(body);
  return response;
}

void send_error(io::Reply& reply, const ApiError& e) { reply.send(io::error_response(e.status(), e.what(), e.param())); }

}  // namespace

Api::Api(io::Server& server, ApiOptions options)
    : server_(server),
      options_(std::move(options)),
      admission_(options_.max_in_flight),
      embedding_admission_(options_.max_embedding_inputs) {
  add_routes();
}

void Api::serve(const ServingModel& model, engine::Engine& engine) {
  for (size_t i = 0; i < server_.shard_count(); ++i) {
    streams_.push_back(std::make_unique<ShardStreams>(server_.shard(i), engine));
  }
  model_.store(&model, std::memory_order_release);
}

SemanticCache* Api::serve_embeddings(const ServingEncoder& encoder) {
  if (options_.semantic_cache) {
    cache::SemanticStoreOptions store = *options_.semantic_cache;
    store.dims = encoder.engine->dims();
    semantic_owned_ = std::make_unique<SemanticCache>(store, encoder);
    semantic_.store(semantic_owned_.get(), std::memory_order_release);
  }
  encoder_.store(&encoder, std::memory_order_release);
  return semantic_owned_.get();
}

void Api::render_metrics(metrics::Exposition& out) const {
  if (const ServingEncoder* encoder = encoder_.load(std::memory_order_acquire)) encoder->engine->metrics().render(out);
  if (const SemanticCache* semantic = semantic_.load(std::memory_order_acquire)) semantic->render_metrics(out);
  if (model_.load(std::memory_order_acquire) == nullptr) return;
  std::vector<const SequenceOutcomes*> shards;
  for (const auto& streams : streams_) shards.push_back(&streams->outcomes());
  render_sequence_outcomes(shards, out);
}

void Api::add_routes() {
  io::Router& router = server_.router();
  router.add(io::Method::post, "/v1/chat/completions", [this](io::Request& request, io::Reply reply) {
    complete(request, reply, Endpoint::chat);
  });
  router.add(io::Method::post, "/v1/completions", [this](io::Request& request, io::Reply reply) {
    complete(request, reply, Endpoint::completion);
  });
  router.add(io::Method::post, "/v1/embeddings", [this](io::Request& request, io::Reply reply) {
    if (authorized(request, reply)) embeddings(request, reply);
  });
  router.add(io::Method::get, "/v1/models", [this](io::Request& request, io::Reply reply) {
    if (authorized(request, reply)) models(reply);
  });
  router.add(io::Method::get, "/v1/models/*", [this](io::Request& request, io::Reply reply) {
    if (authorized(request, reply)) model(request.path().substr(std::string_view("/v1/models/").size()), reply);
  });
  router.add(io::Method::post, "/tokenize", [this](io::Request& request, io::Reply reply) {
    if (authorized(request, reply)) tokenize(request, reply);
  });
  router.add(io::Method::post, "/detokenize", [this](io::Request& request, io::Reply reply) {
    if (authorized(request, reply)) detokenize(request, reply);
  });
}

bool Api::authorized(const io::Request& request, io::Reply& reply) const {
  if (options_.api_key.empty()) return true;
  const std::string_view header = request.header("authorization").value_or("");
  constexpr std::string_view kBearer = "Bearer ";
  if (header.size() > kBearer.size() && io::iequals(header.substr(0, kBearer.size()), kBearer) &&
      constant_time_equal(header.substr(kBearer.size()), options_.api_key)) {
    return true;
  }
  io::Response response = io::error_response(
      401, header.empty() ? "You didn't provide an API key: send it as \"Authorization: Bearer KEY\""
                          : "Incorrect API key provided");
  response.headers.push_back({"WWW-Authenticate", "Bearer"});
  reply.send(std::move(response));
  return false;
}

const ServingModel* Api::model_or_503(io::Reply& reply) const {
  const ServingModel* model = model_.load(std::memory_order_acquire);
  if (model == nullptr) {
    io::Response response = io::error_response(503, "the model is still loading; /ready answers 200 once it is served");
    response.headers.push_back({"Retry-After", "5"});
    reply.send(std::move(response));
  }
  return model;
}

void Api::complete(io::Request& request, io::Reply reply, Endpoint endpoint) {
  if (!authorized(request, reply)) return;
  const ServingModel* model = model_or_503(reply);
  if (model == nullptr) return;
  try {
    CompletionRequest parsed = parse_completion_request(request.body, endpoint);
    const uint64_t sequences = uint64_t(parsed.n) * std::max<size_t>(1, parsed.prompts.size());
    if (sequences > admission_.limit()) {
      throw ApiError(400,
                     fmt::format("this request asks for {} sequences (n × prompts) and the server runs at most {} "
                                 "at once, queue included (--max-concurrency, --max-queue); split it",
                                 sequences, admission_.limit()),
                     "n");
    }
    AdmissionTicket ticket = admission_.take(uint32_t(sequences));
    if (!ticket) {
      io::Response response = io::error_response(
          429, fmt::format("the server is at capacity ({} sequences running or queued); retry shortly",
                           admission_.limit()));
      response.headers.push_back({"Retry-After", "1"});
      reply.send(std::move(response));
      return;
    }
    if (!parsed.model.empty() && parsed.model != model->id) {
      throw ApiError(404, fmt::format("The model `{}` does not exist: this server serves `{}`", parsed.model, model->id),
                     "model");
    }
    // More than the whole context can never be given (vLLM and OpenAI refuse it too); less is cut to what fits
    // beside the prompt, finish_reason "length", as llama.cpp does.
    if (parsed.sampling.max_tokens && uint32_t(*parsed.sampling.max_tokens) > model->ctx_size) {
      throw ApiError(400,
                     fmt::format("This model's maximum context length is {} tokens (prompt and completion "
                                 "together). However, you requested {} tokens for the completion. Please reduce "
                                 "max_tokens to at most {}.",
                                 model->ctx_size, *parsed.sampling.max_tokens, model->ctx_size),
                     "max_tokens");
    }
    if (const auto error = parsed.sampling.validate(model->tokenizer->vocab().size())) {
      throw ApiError(400, *error, error->substr(0, error->find_first_of(" :")));
    }
    if (parsed.constraint.kind && !model->grammars) {
      throw ApiError(400, "this server does not constrain output", parsed.constraint.param);
    }
    if (model->grammars) compile_constraint(parsed, *model->grammars);
    std::vector<PreparedPrompt> prompts = prepare_prompts(parsed, *model);
    SemanticCache* semantic = semantic_.load(std::memory_order_acquire);
    std::optional<SemanticQuery> query;
    if (semantic != nullptr) {
      const std::string_view cache_control = request.header("cache-control").value_or("");
      query = semantic_query(parsed, model->id, cache_control.find("no-cache") != std::string_view::npos);
    }
    if (!query) {
      run_completion(*model, std::move(parsed), std::move(prompts), reply, std::move(ticket), std::nullopt, {});
      return;
    }
    const uint32_t prompt_tokens = uint32_t(prompts[0].tokens.size());
    if (const auto hit = semantic->find_exact(*query)) {
      send_cached_answer(reply, parsed, new_response_meta(*model, parsed.endpoint), prompt_tokens, *hit, "exact");
      return;
    }
    // The embedding runs on its own thread; the request waits for it here, holding its admission ticket.
    struct Waiting {
      CompletionRequest parsed;
      std::vector<PreparedPrompt> prompts;
      AdmissionTicket ticket;
      SemanticQuery query;
    };
    auto waiting = std::make_shared<Waiting>(Waiting{std::move(parsed), std::move(prompts), std::move(ticket), *query});
    semantic->find_similar(waiting->query, reply.shard(),
                           [this, model, reply, waiting, prompt_tokens](std::vector<float> vector,
                                                                        std::optional<cache::SemanticHit> hit) mutable {
                             if (!reply.alive()) return;  // the client left while its message was embedded
                             if (hit) {
                               send_cached_answer(reply, waiting->parsed,
                                                  new_response_meta(*model, waiting->parsed.endpoint), prompt_tokens,
                                                  *hit, "semantic");
                               return;
                             }
                             run_completion(*model, std::move(waiting->parsed), std::move(waiting->prompts), reply,
                                            std::move(waiting->ticket), std::move(waiting->query), std::move(vector));
                           });
  } catch (const ApiError& e) {
    send_error(reply, e);
  }
}

void Api::run_completion(const ServingModel& model, CompletionRequest parsed, std::vector<PreparedPrompt> prompts,
                         io::Reply reply, AdmissionTicket ticket, std::optional<SemanticQuery> query,
                         std::vector<float> vector) {
  ShardStreams& streams = *streams_[size_t(reply.shard().index())];
  auto completion = std::make_shared<Completion>(model, streams, std::move(parsed), std::move(prompts), reply,
                                                 std::move(ticket));
  if (query && !vector.empty()) {
    SemanticCache* semantic = semantic_.load(std::memory_order_acquire);
    completion->on_answer([semantic, query = std::move(*query), vector = std::move(vector)](
                              std::string_view text, std::string_view finish_reason, uint32_t tokens) {
      semantic->insert(query, vector, {std::string(text), std::string(finish_reason), tokens});
    });
  }
  completion->start();
}

void Api::models(io::Reply reply) {
  const ServingModel* model = model_or_503(reply);
  if (model == nullptr) return;
  std::string body;
  append_model_list(body, model->id, model->created, model->ctx_size);
  reply.send(json_response(std::move(body)));
}

void Api::model(std::string_view id, io::Reply reply) {
  const ServingModel* model = model_or_503(reply);
  if (model == nullptr) return;
  if (id != model->id) {
    reply.send(io::error_response(404, fmt::format("The model `{}` does not exist: this server serves `{}`", id, model->id),
                                  "model"));
    return;
  }
  std::string body;
  append_model(body, model->id, model->created, model->ctx_size);
  reply.send(json_response(std::move(body)));
}

// vLLM's /tokenize: {"prompt": text} or {"messages": [...]}, with add_special_tokens
// (default true) and add_generation_prompt; answers {"count","max_model_len","tokens"}.
void Api::tokenize(io::Request& request, io::Reply reply) {
  const ServingModel* model = model_or_503(reply);
  if (model == nullptr) return;
  try {
    const TokenizeRequest parsed = parse_tokenize_request(request.body);
    const std::vector<tokenizer::TokenId> tokens =
        parsed.prompt ? model->tokenizer->encode(*parsed.prompt, parsed.add_special_tokens, true)
                      : tokenize_chat(*model->tokenizer,
                                      render_chat(*model, parsed.messages_json, "", parsed.add_generation_prompt));
    std::string body = fmt::format("{{\"count\":{},\"max_model_len\":{},\"tokens\":[", tokens.size(), model->ctx_size);
    for (size_t i = 0; i < tokens.size(); ++i) fmt::format_to(std::back_inserter(body), "{}{}", i ? "," : "", tokens[i]);
    body.append("]}");
    reply.send(json_response(std::move(body)));
  } catch (const ApiError& e) {
    send_error(reply, e);
  }
}

// vLLM's /detokenize: {"tokens": [ids]} → {"prompt": text}.
void Api::detokenize(io::Request& request, io::Reply reply) {
  const ServingModel* model = model_or_503(reply);
  if (model == nullptr) return;
  try {
    const std::vector<tokenizer::TokenId> tokens =
        parse_detokenize_request(request.body, model->tokenizer->vocab().size());
    std::string body = "{\"prompt\":";
    json::append_string(body, model->tokenizer->decode(tokens));
    body.push_back('}');
    reply.send(json_response(std::move(body)));
  } catch (const ApiError& e) {
    send_error(reply, e);
  }
}

// OpenAI's /v1/embeddings: every input of every request waiting goes through the embedding model in one pass
// (engine::EmbeddingEngine); the body is written on the shard.
void Api::embeddings(io::Request& request, io::Reply reply) {
  const ServingEncoder* encoder = encoder_.load(std::memory_order_acquire);
  if (encoder == nullptr) {
    if (!options_.embedding_model) {
      reply.send(io::error_response(404,
                                    "this server has no embedding model: start it with --embedding-model FILE.gguf "
                                    "(a BERT-family GGUF such as bge-small or all-MiniLM-L6-v2)",
                                    "model"));
      return;
    }
    io::Response response = io::error_response(503, "the embedding model is still loading; retry shortly");
    response.headers.push_back({"Retry-After", "5"});
    reply.send(std::move(response));
    return;
  }
  try {
    EmbeddingRequest parsed = parse_embedding_request(request.body);
    if (!parsed.model.empty() && parsed.model != encoder->id) {
      throw ApiError(404,
                     fmt::format("The model `{}` does not exist: this server embeds with `{}`", parsed.model,
                                 encoder->id),
                     "model");
    }
    const uint32_t dims = encoder->engine->dims(), max_tokens = encoder->engine->max_tokens();
    if (parsed.dimensions != 0 && parsed.dimensions != dims) {
      throw ApiError(400,
                     fmt::format("\"dimensions\" must be {} (or left out): `{}` makes {}-dimensional embeddings and "
                                 "they cannot be shortened",
                                 dims, encoder->id, dims),
                     "dimensions");
    }
    const size_t vocab = encoder->tokenizer->vocab().size();
    std::vector<std::vector<int32_t>> inputs;
    inputs.reserve(parsed.inputs.size());
    uint64_t prompt_tokens = 0;
    for (size_t i = 0; i < parsed.inputs.size(); ++i) {
      Prompt& input = parsed.inputs[i];
      const std::string field = parsed.inputs.size() == 1 ? "input" : fmt::format("input[{}]", i);
      if (input.is_tokens) {
        for (const int32_t id : input.tokens) {
          if (uint64_t(id) >= vocab) {
            throw ApiError(400, fmt::format("\"{}\" holds token id {}, outside the embedding model's vocabulary (0 to {})",
                                            field, id, vocab - 1),
                           field);
          }
        }
      } else {
        input.tokens = encoder->tokenizer->encode(input.text, true);
      }
      if (input.tokens.size() > max_tokens) {
        throw ApiError(400,
                       fmt::format("\"{}\" is {} tokens and `{}` takes at most {}: shorten or split it", field,
                                   input.tokens.size(), encoder->id, max_tokens),
                       field);
      }
      prompt_tokens += input.tokens.size();
      inputs.push_back(std::move(input.tokens));
    }
    AdmissionTicket ticket = embedding_admission_.take(uint32_t(inputs.size()));
    if (!ticket) {
      io::Response response = io::error_response(
          429, fmt::format("the embedding model has {} inputs queued; retry shortly", embedding_admission_.limit()));
      response.headers.push_back({"Retry-After", "1"});
      reply.send(std::move(response));
      return;
    }
    auto held = std::make_shared<AdmissionTicket>(std::move(ticket));  // given back once answered
    encoder->engine->submit(std::move(inputs), [reply, held, encoder, dims, prompt_tokens,
                                                base64 = parsed.base64](engine::EmbeddingResult result) mutable {
      reply.shard().post([reply, held, encoder, dims, prompt_tokens, base64, result = std::move(result)]() mutable {
        held.reset();
        if (!result.error.empty()) {
          reply.send(io::error_response(500, "the embedding model failed: " + result.error));
          return;
        }
        std::string body;
        append_embedding_response(body, encoder->id, result.vectors, dims, base64, prompt_tokens);
        reply.send(json_response(std::move(body)));
      });
    });
  } catch (const ApiError& e) {
    send_error(reply, e);
  }
}

}  // namespace rs::api
