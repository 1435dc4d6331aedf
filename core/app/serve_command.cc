#include "core/app/serve_command.h"

#include <fmt/format.h>
#include <mimalloc.h>
#include <signal.h>
#include <sys/resource.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <thread>

#include "core/api/api_routes.h"
#include "core/api/tool_calls.h"
#include "core/app/command.h"
#include "core/app/endpoints.h"
#include "core/app/semantic_cache_file.h"
#include "core/base/log.h"
#include "gpu/device.h"
#include "io/server.h"

namespace rs {
namespace {

const std::vector<std::string> kIoBackends = {"auto", "io_uring", "epoll"};

// The engine thread's compute needs the cores; shards are mostly idle.
constexpr int kCoresReservedForCompute = 1;

void raise_open_files_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
}

void log_devices() {
  std::string why_none;
  const auto devices = gpu::visible_devices(why_none);
  if (devices.empty()) log::info("CUDA: no usable device ({})", why_none);
  for (const auto& d : devices) {
    log::info("CUDA device {}: {}, {:.1f} GiB, sm_{}{}", d.index, d.name,
              double(d.memory_bytes) / (1 << 30), d.compute_major, d.compute_minor);
  }
}

// The first line of `path`, without surrounding white space; a file without one is an error naming it.
std::string read_api_key(const std::string& path) {
  std::ifstream file(path);
  if (!file) throw std::runtime_error(fmt::format("--api-key-file {}: cannot read it: {}", path, std::strerror(errno)));
  std::string line;
  std::getline(file, line);
  const size_t first = line.find_first_not_of(" \t\r");
  const size_t last = line.find_last_not_of(" \t\r");
  if (first == std::string::npos) throw std::runtime_error(fmt::format("--api-key-file {}: its first line is empty", path));
  return line.substr(first, last - first + 1);
}

}  // namespace

Command add_serve_command(CLI::App& app) {
  CLI::App& command = *app.add_subcommand("serve", "Run the HTTP server (until SIGTERM/SIGINT)");
  auto options = std::make_shared<ServeOptions>();
  ServeOptions& o = *options;
  io::ServerConfig& s = o.server;
  s.shards = io::default_shard_count(kCoresReservedForCompute);
  command.add_option("--host", s.host, "Address to listen on")->capture_default_str();
  command.add_option("--port", s.port, "TCP port to listen on (0: any free port)")
      ->capture_default_str();
  command.add_option("--shards", s.shards,
                     "HTTP reactor threads, each pinned to a core with its own io_uring (or epoll) "
                     "(default: the CPUs this process may use, minus one for the engine)")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  command.add_flag("--no-pin", o.no_pin, "Do not pin shard threads to cores");
  command
      .add_option("--io-backend", o.io_backend,
                  "How shards wait on sockets: io_uring, epoll, or auto (io_uring unless a seccomp profile, such "
                  "as Docker's default or GKE's RuntimeDefault, refuses it; then epoll)")
      ->check(CLI::IsMember(kIoBackends))
      ->capture_default_str();
  command.add_option("--max-connections", s.max_connections,
                     "Open connections per shard; connections beyond it are answered 503")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  command.add_option("--max-header-bytes", s.limits.max_header_bytes,
                     "Largest request line + headers; larger requests get 431")
      ->check(CLI::Range(size_t{256}, size_t{1} << 24))
      ->capture_default_str();
  command.add_option("--max-body-bytes", s.limits.max_body_bytes,
                     "Largest request body; larger requests get 413")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  command.add_option("--header-timeout", o.header_timeout_s,
                     "Seconds a client may take to send a request's headers (slowloris guard); "
                     "then 408 and close")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  command.add_option("--body-timeout", o.body_timeout_s,
                     "Seconds a client may take to send a request's body; then 408 and close")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  command.add_option("--idle-timeout", o.idle_timeout_s,
                     "Seconds an idle keep-alive connection stays open")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  command.add_option("--write-timeout", o.write_timeout_s,
                     "Seconds a client may take no response bytes while some wait for it; then it is closed and its "
                     "requests cancelled")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  command.add_option("--drain-timeout", o.drain_timeout_s,
                     "On SIGTERM/SIGINT: seconds in-flight requests get to finish before exit "
                     "(keep it below Cloud Run's 10 s grace period)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  command.add_option("--max-output-bytes", s.max_output_bytes,
                     "Unsent bytes of a stream a slow client may pile up before its request is cancelled")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  command.add_option("--max-unsent-bytes", s.max_unsent_bytes,
                     "Unsent response bytes across all connections; past it, large responses get 503 and the "
                     "connections that have read nothing for longest are closed")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  command.add_option("--cors-origin", s.cors_origin,
                     "Send Access-Control-Allow-Origin with this value (e.g. * or https://app.example) and answer "
                     "CORS preflights, for browser clients (default: no CORS headers)");
  command.add_flag("--access-log", s.access_log, "Log one line per request");

  ModelServiceOptions& m = o.model;
  command.add_option("--model", m.model,
                     "A GGUF model, or a Hugging Face model directory (default: the built-in demo model, random "
                     "weights)")
      ->check(CLI::ExistingPath);
  command.add_option("--model-name", m.model_name,
                     "The model's id in /v1/models and in responses (default: the file's name)");
  command.add_option("--chat-template", m.chat_template,
                     "Use this chat template instead of the model's: a built-in name (chatml, gemma, llama2, llama3, "
                     "mistral, phi3, smollm2, zephyr) or a Jinja file");
  command.add_option("--tool-call-parser", m.tool_call_parser,
                     "How the model writes tool calls, read out of its output for tool_choice \"auto\": hermes "
                     "(<tool_call> JSON </tool_call>: Qwen 2.5, Hermes), llama3_json (a JSON call as the whole output: "
                     "Llama 3.1, 3.2) or mistral ([TOOL_CALLS] [calls]) (default: the one the chat template shows, "
                     "else hermes)")
      ->check(CLI::IsMember(api::tool_call_format_names()));
  add_device_option(command, m.device,
                    "Where the model runs: cuda (device 0: the weights stream from disk to the GPU), cpu, or auto "
                    "(cuda where a GPU is visible)");
  command.add_option("--gpu-memory-fraction", m.gpu_memory_fraction,
                     "Share of the GPU's memory this server takes for weights, activations and the KV cache; the KV "
                     "cache gets all the rest unless --kv-cache-gib")
      ->check(CLI::Range(0.05, 1.0))
      ->capture_default_str();
  command.add_option("--threads", m.threads, "Compute threads of the CPU engine (default: every core)");
  m.compute_nice = 10;
  command
      .add_option("--compute-nice", m.compute_nice,
                  "Niceness the compute threads of the CPU engine and the embedding model take above the server's, "
                  "so that an HTTP shard gets a core at once when it has work: requests are read, refused or "
                  "streamed while a step computes. 0: the same priority as the shards")
      ->check(CLI::Range(0, 19))
      ->capture_default_str();
  command.add_option("--ctx-size", m.ctx_size,
                     "Context per sequence, prompt plus generated tokens; longer prompts get 400. A smaller context "
                     "leaves KV blocks for more sequences at once")
      ->check(CLI::Range(16u, 1u << 24))
      ->capture_default_str();
  command.add_option("--kv-type", m.kv_type,
                     "KV cache type: f16, or q8_0 for half the memory (more sequences; CPU only for now)")
      ->check(CLI::IsMember({"f16", "q8_0", "f32"}))
      ->capture_default_str();
  command.add_flag("--no-prefix-cache", o.no_prefix_cache,
                   "Do not share the KV blocks of prompts that start alike (the prefix cache is on by default)");
  command.add_option("--prefix-cache-file", m.prefix_cache_file,
                     "A prefix cache file written by `ringserve warm` for this model and --kv-type: its KV blocks "
                     "are loaded before /ready turns 200 (a file that is missing, damaged or does not match is "
                     "refused with a log line, and the server serves without it)");
  command.add_option("--kv-cache-gib", m.kv_cache_gib,
                     "Memory of the KV cache (default: on the CPU, --max-seqs full contexts, at most a quarter of "
                     "memory; on a GPU, what --gpu-memory-fraction leaves)")
      ->check(CLI::PositiveNumber);
  command.add_option("--max-batch-tokens", m.limits.max_batch_tokens,
                     "Tokens per engine step: running decodes plus chunks of waiting prompts")
      ->check(CLI::Range(16u, 1u << 20))
      ->capture_default_str();
  command.add_option("--max-seqs", m.limits.max_seqs, "Sequences running at once (one per choice of a request)")
      ->check(CLI::Range(1u, 4096u))
      ->capture_default_str();
  command.add_option("--max-concurrency", o.max_concurrency,
                     "Sequences served at once: a request counts its n choices over its prompts (one for most "
                     "requests); set Cloud Run's per-instance concurrency to it (default: --max-seqs)")
      ->check(CLI::Range(1u, 1u << 20));
  command.add_option("--max-queue", o.max_queue,
                     "Sequences waiting beyond --max-concurrency; past both, 429 with Retry-After (0: no queue; "
                     "default: as many as --max-concurrency)")
      ->check(CLI::Range(0u, 1u << 20));
  EmbeddingServiceOptions& e = o.embedding;
  CLI::Option* embedding_model =
      command.add_option("--embedding-model", e.model,
                         "A BERT-family sentence-embedding GGUF (bge, all-MiniLM, e5, gte, as llama.cpp converts "
                         "them): serves /v1/embeddings, and the semantic cache's embeddings")
          ->check(CLI::ExistingFile);
  command.add_option("--embedding-model-name", e.model_name,
                     "The embedding model's id in /v1/embeddings responses (default: the file's name)");
  command.add_option("--embedding-threads", e.threads, "Compute threads of the embedding model (default: every core)");
  command.add_option("--embedding-batch-tokens", e.max_batch_tokens,
                     "Tokens per pass of the embedding model: the inputs of every waiting request, up to this")
      ->check(CLI::Range(16u, 1u << 20))
      ->capture_default_str();
  command.add_flag("--semantic-cache", o.semantic_cache,
                   "Answer deterministic requests (temperature 0, or a seed) from earlier answers to the same "
                   "conversation whose last user message is the same or means the same (needs --embedding-model)")
      ->needs(embedding_model);
  command.add_option("--semantic-threshold", o.semantic.threshold,
                     "Least cosine similarity of two last user messages for one's answer to serve the other")
      ->check(CLI::Range(0.5, 1.0))
      ->capture_default_str();
  command.add_option("--semantic-cache-entries", o.semantic.capacity, "Answers the semantic cache holds at most")
      ->check(CLI::Range(1u, 100'000'000u))
      ->capture_default_str();
  command.add_option("--semantic-cache-bytes", o.semantic.max_bytes,
                     "Memory the semantic cache's answers and vectors take at most")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  command.add_option("--semantic-cache-ttl", o.semantic.ttl_seconds,
                     "Seconds an answer stays in the semantic cache (0: until evicted)")
      ->capture_default_str();
  command.add_option("--semantic-cache-file", o.semantic_cache_file,
                     "A semantic cache written by `ringserve warm --semantic` for this model, --model-name and "
                     "embedding model, loaded before /ready turns 200 (a file that is missing, damaged or does not "
                     "match is refused with a log line, and the server serves without it)")
      ->needs(embedding_model);
  CLI::Option* api_key =
      command
          .add_option("--api-key", o.api_key,
                      "Require \"Authorization: Bearer KEY\" on /v1/* and /tokenize (also from RINGSERVE_API_KEY); "
                      "/health, /ready and /metrics stay open")
          ->envname("RINGSERVE_API_KEY");
  command
      .add_option("--api-key-file", o.api_key_file,
                  "Read the --api-key from this file (its first line), so it stays out of process listings and "
                  "the environment (a mounted secret)")
      ->excludes(api_key);
  return {&command, [options] { return serve(*options); }};
}

int serve(ServeOptions o) {
  if (!o.api_key_file.empty()) {
    try {
      o.api_key = read_api_key(o.api_key_file);
    } catch (const std::exception& e) {
      log::error("{}", e.what());
      return 1;
    }
  }
  o.server.header_timeout = io::Seconds(o.header_timeout_s);
  o.server.body_timeout = io::Seconds(o.body_timeout_s);
  o.server.idle_timeout = io::Seconds(o.idle_timeout_s);
  o.server.drain_timeout = io::Seconds(o.drain_timeout_s);
  o.server.write_timeout = io::Seconds(o.write_timeout_s);
  o.model.prefix_caching = !o.no_prefix_cache;
  o.embedding.nice = o.model.compute_nice;
  o.server.pin_shards = !o.no_pin;
  o.server.io_backend = o.io_backend == "io_uring" ? io::IoBackend::io_uring
                        : o.io_backend == "epoll"  ? io::IoBackend::epoll
                                                   : io::IoBackend::automatic;

  raise_open_files_limit();
  // Signals are taken by this thread with sigwait; every thread started from
  // here on inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  void* probe = malloc(64);  // mimalloc must own malloc itself, not just be linked in
  const bool redirected = mi_is_in_heap_region(probe);
  free(probe);
  const int v = mi_version();  // e.g. 209 for 2.0.9
  log::info("ringserve {} starting (allocator: mimalloc {}.{}.{}, malloc {})", RINGSERVE_VERSION,
            v / 100, v / 10 % 10, v % 10,
            redirected ? "redirected" : "NOT redirected: check the link order");
  log_devices();

  std::atomic<bool> model_ready{false};
  io::Server server(o.server);
  const uint32_t concurrency = o.max_concurrency ? o.max_concurrency : o.model.limits.max_seqs;
  const uint32_t queue = o.max_queue >= 0 ? uint32_t(o.max_queue) : concurrency;
  api::ApiOptions api_options{.api_key = o.api_key, .max_in_flight = concurrency + queue};
  api_options.embedding_model = !o.embedding.model.empty();
  if (o.semantic_cache || !o.semantic_cache_file.empty()) api_options.semantic_cache = o.semantic;
  api::Api api(server, std::move(api_options));
  std::unique_ptr<EmbeddingService> embeddings;
  std::unique_ptr<ModelService> service;
  add_health_endpoints(server, model_ready, [&service, &api](metrics::Exposition& out) {
    service->engine().metrics().render(out);  // set before model_ready, which publishes it
    api.render_metrics(out);
  });
  try {
    server.start();
  } catch (const std::exception& e) {
    log::error("cannot start the HTTP server: {}", e.what());
    return 1;
  }
  log::info("listening on http://{}:{} with {} shard(s) on {}; loading the model: /ready answers 503 until it is "
            "served", o.server.host, server.port(), server.shard_count(), io::to_string(server.io_backend()));

  // Loads beside the signal loop, so SIGTERM during a long load still stops the server.
  std::atomic<bool> load_failed{false};
  std::thread loader([&] {
    try {
      api::SemanticCache* semantic = nullptr;
      if (!o.embedding.model.empty()) {
        embeddings = std::make_unique<EmbeddingService>(o.embedding);
        semantic = api.serve_embeddings(embeddings->serving());
        if (semantic != nullptr) {
          const cache::SemanticStoreOptions& c = semantic->store().options();
          log::info("semantic cache on: deterministic requests answered from earlier answers at cosine >= {} (up to "
                    "{} answers, {} MiB, {}); opt out per request with Cache-Control: no-cache",
                    c.threshold, c.capacity, c.max_bytes >> 20,
                    c.ttl_seconds ? fmt::format("kept {} s", c.ttl_seconds) : std::string("no expiry"));
        }
      }
      service = std::make_unique<ModelService>(o.model);
      if (!o.semantic_cache_file.empty()) {  // it needs --embedding-model, and turns the semantic cache on
        load_semantic_cache_file(o.semantic_cache_file, *semantic, service->model_identity(), service->serving().id,
                                 embeddings->identity());
      }
      api.serve(service->serving(), service->engine());
      model_ready.store(true, std::memory_order_release);
      log::info("ready: serving \"{}\"; at most {} sequences at once plus {} queued (429 beyond)",
                service->serving().id, concurrency, queue);
    } catch (const std::exception& e) {
      log::error("cannot serve the model: {}", e.what());
      load_failed = true;
      server.stop();
    }
  });

  std::atomic<bool> exited{false};
  std::thread waiter([&] {
    server.wait();
    exited = true;
  });
  bool draining = false;
  const timespec poll{0, 100'000'000};
  while (!exited) {
    siginfo_t info;
    const int sig = sigtimedwait(&signals, &info, &poll);
    if (sig < 0) continue;
    if (!draining) {
      draining = true;
      log::info("received {}: draining (finishing in-flight requests for up to {}s; "
                "signal again to stop now)", sigabbrev_np(sig), o.drain_timeout_s);
      server.drain();
    } else {
      log::warn("received {} again: closing all connections now", sigabbrev_np(sig));
      server.stop();
    }
  }
  waiter.join();
  loader.join();
  log::info("stopped");
  return load_failed ? 1 : 0;
}

}  // namespace rs
