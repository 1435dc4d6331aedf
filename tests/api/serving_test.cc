// The OpenAI API end to end: a real server on loopback, the demo model on the
// CPU engine, requests over TCP. Outputs are compared as exact bytes: the
// engine is batch-invariant, so a request gives the same text alone and among
// 63 others.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <numeric>
#include <thread>

#include "core/api/api_routes.h"
#include "core/app/endpoints.h"
#include "core/base/json_write.h"
#include "core/app/embedding_service.h"
#include "core/app/model_service.h"
#include "core/api/embeddings.h"
#include "core/cpu/bert_encoder.h"
#include "core/model/synth.h"
#include "core/sampler/sampler.h"
#include "core/tokenizer/special_tokens.h"
#include "tests/support/ci.h"
#include "tests/support/http_client.h"

namespace rs::test {
namespace {

// Runs the engine's steps only as the test lets it, so that a stream is still running whenever the test says
// so, however fast the machine: a client can leave, or the server shut down, in the middle of it.
class GatedExecutor final : public engine::Executor {
 public:
  explicit GatedExecutor(engine::Executor& inner) : inner_(inner) {}

  void step(const engine::Batch& batch, engine::Logits& logits) override {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [this] { return open_ || allowed_ > 0; });
    if (!open_) --allowed_;
    lock.unlock();
    inner_.step(batch, logits);
  }
  const kv::KvLayout& kv_layout() const override { return inner_.kv_layout(); }
  void read_kv_block(kv::BlockId block, std::span<std::byte> out) const override { inner_.read_kv_block(block, out); }
  void write_kv_block(kv::BlockId block, std::span<const std::byte> bytes) override {
    inner_.write_kv_block(block, bytes);
  }

  void allow(uint32_t steps) { change([&] { allowed_ += steps; }); }
  void open() { change([&] { open_ = true; }); }

 private:
  template <class Change>
  void change(Change c) {
    {
      std::lock_guard lock(mutex_);
      c();
    }
    changed_.notify_all();
  }

  engine::Executor& inner_;
  std::mutex mutex_;
  std::condition_variable changed_;
  uint32_t allowed_ = 0;
  bool open_ = false;
};

// The demo model on its own CPU executor behind a gate, with its own engine.
struct GatedModel {
  explicit GatedModel(const engine::SchedulerLimits& limits, const tokenizer::Vocab& vocab)
      : weights(cpu::describe_model(demo.path()), io::StreamOptions{.direct = false}),
        cpu(weights, {.threads = 1, .kv_blocks = 64 * limits.ctx_size / 16, .block_tokens = 16}),
        gate(cpu),
        engine(gate, limits, tokenizer::end_of_generation_tokens(vocab)) {}
  ~GatedModel() { gate.open(); }  // a step still waiting must end for the engine thread to stop

  DemoModelFile demo;
  cpu::ModelWeights weights;
  cpu::CpuExecutor cpu;
  GatedExecutor gate;
  engine::Engine engine;
};

std::string post_request(std::string_view path, std::string_view body, std::string_view extra_headers = "") {
  return "POST " + std::string(path) + " HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n" +
         std::string(extra_headers) + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
         std::string(body);
}

// The events of an SSE body, without "data: ".
std::vector<std::string> sse_events(const std::string& body) {
  std::vector<std::string> events;
  size_t at = 0;
  while (at < body.size()) {
    const size_t end = body.find("\n\n", at);
    if (end == std::string::npos) break;
    std::string_view event(body.data() + at, end - at);
    EXPECT_TRUE(event.starts_with("data: ")) << event;
    events.emplace_back(event.substr(6));
    at = end + 2;
  }
  EXPECT_EQ(at, body.size()) << "trailing bytes after the last event";
  return events;
}

class Serving : public ::testing::Test {
 protected:
  static constexpr uint32_t kMaxInFlight = 80;

  void SetUp() override { start({}); }
  void TearDown() override {
    if (gated_) gated_->gate.open();
    if (server_) {
      server_->stop();
      server_->wait();
    }
  }

  // `gated`: the API is served by an engine whose steps run only as gate() allows.
  void start(api::ApiOptions api_options, uint32_t ctx_size = 256, io::ServerConfig config = {}, bool gated = false,
             uint32_t max_seqs = 64) {
    config.host = "127.0.0.1";
    config.port = 0;
    config.shards = 2;
    config.pin_shards = false;
    server_ = std::make_unique<io::Server>(config);
    if (api_options.max_in_flight == 0) api_options.max_in_flight = kMaxInFlight;
    api_options.embedding_model = !embedding_model_.empty();
    api_ = std::make_unique<api::Api>(*server_, api_options);
    add_health_endpoints(*server_, ready_, [this](metrics::Exposition& out) {
      engine_->metrics().render(out);
      api_->render_metrics(out);
    });
    server_->start();
    port_ = server_->port();
    ModelServiceOptions options;
    options.model = model_;
    options.prefix_caching = prefix_caching_;
    options.threads = 1;
    options.ctx_size = ctx_size;
    options.limits = {.max_batch_tokens = 256, .max_seqs = max_seqs, .ctx_size = ctx_size};
    service_ = std::make_unique<ModelService>(options);
    engine_ = &service_->engine();
    if (gated) {
      gated_ = std::make_unique<GatedModel>(options.limits, service_->serving().tokenizer->vocab());
      engine_ = &gated_->engine;
    }
    if (!embedding_model_.empty()) {
      embeddings_ = std::make_unique<EmbeddingService>(
          EmbeddingServiceOptions{.model = embedding_model_, .model_name = "bert-test", .threads = 1, .max_batch_tokens = 512});
      api_->serve_embeddings(embeddings_->serving());
    }
    api_->serve(service_->serving(), *engine_);
    ready_ = true;
  }

  GatedExecutor& gate() { return gated_->gate; }

  // Polls until `sequences` are admitted by the API (and so handed to the engine).
  bool in_flight(uint32_t sequences) {
    for (int i = 0; i < 500 && api_->in_flight() != sequences; ++i) std::this_thread::sleep_for(2ms);
    return api_->in_flight() == sequences;
  }

  HttpResponse post(std::string_view path, std::string_view body, std::string_view headers = "") {
    auto response = fetch(port_, post_request(path, body, headers));
    EXPECT_TRUE(response) << "no response to " << body;
    return response.value_or(HttpResponse{});
  }

  simdjson::dom::element json(const std::string& text) {
    parsed_.push_back(std::make_unique<simdjson::dom::parser>());
    simdjson::dom::element element;
    EXPECT_EQ(parsed_.back()->parse(text).get(element), simdjson::SUCCESS) << text;
    return element;
  }

  std::string completion_text(const std::string& body) {
    const HttpResponse r = post("/v1/completions", body);
    EXPECT_EQ(r.status, 200) << r.body;
    return std::string(json(r.body)["choices"].at(0)["text"].get_string().value_unsafe());
  }

  // A sample's value in /metrics now ("name" or "name{labels}"); NaN when it is not there.
  double metric(const std::string& sample) {
    const auto m = fetch(port_, get_request("/metrics"));
    const size_t at = m ? m->body.find("\n" + sample + " ") : std::string::npos;
    return at == std::string::npos ? std::nan("") : std::stod(m->body.substr(at + sample.size() + 2));
  }

  // Polls /metrics until `line` appears.
  bool metrics_show(const std::string& line) {
    for (int i = 0; i < 200; ++i) {
      const auto m = fetch(port_, get_request("/metrics"));
      if (m && m->body.find(line) != std::string::npos) return true;
      std::this_thread::sleep_for(10ms);
    }
    return false;
  }

  std::unique_ptr<io::Server> server_;
  std::unique_ptr<api::Api> api_;
  std::unique_ptr<ModelService> service_;
  std::unique_ptr<EmbeddingService> embeddings_;
  std::unique_ptr<GatedModel> gated_;
  std::string model_;  // "" : the demo model
  std::string embedding_model_;  // "" : none
  bool prefix_caching_ = true;
  engine::Engine* engine_ = nullptr;  // the one serving: the service's, or the gated one
  std::atomic<bool> ready_{false};
  uint16_t port_ = 0;
  std::vector<std::unique_ptr<simdjson::dom::parser>> parsed_;
};

// Tests that start the server themselves, with their own limits.
class ServingLimits : public Serving {
 protected:
  void SetUp() override {}
};

// Model names, templates and cache files are server-side flags only: a path or URL in any string field of any
// endpoint is just text. Each request is answered (2xx or 4xx, never 5xx) and no answer holds the named file.
TEST_F(Serving, NoRequestFieldReachesTheFileSystem) {
  start({});
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("ringserve-traversal-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const std::string secret = "TraversalSecretContent";
  std::ofstream(dir / "secret.txt") << secret << "\n";
  const std::string target = (dir / "secret.txt").string();
  const std::vector<std::string> paths = {target, "../../../../../../../.." + target, "file://" + target,
                                          "/etc/passwd", "..%2F..%2F..%2Fetc%2Fpasswd", "../../../etc/passwd"};
  // @ is where the path goes, as a JSON string.
  const std::vector<std::pair<std::string, std::string>> requests = {
      {"/v1/chat/completions", R"({"model":@,"messages":[{"role":"user","content":"x"}],"max_tokens":2})"},
      {"/v1/chat/completions", R"({"messages":[{"role":"user","content":@,"name":@}],"max_tokens":2,"stop":[@],)"
                               R"("user":@,"cache_salt":@})"},
      {"/v1/chat/completions", R"({"messages":[{"role":@,"content":"x"}],"max_tokens":2})"},
      {"/v1/chat/completions", R"({"messages":[{"role":"user","content":"x"}],"max_tokens":2,"response_format":)"
                               R"({"type":"json_schema","json_schema":{"name":"n","schema":{"$ref":@}}}})"},
      {"/v1/chat/completions", R"({"messages":[{"role":"user","content":"x"}],"max_tokens":2,"guided_grammar":@})"},
      {"/v1/chat/completions", R"({"messages":[{"role":"user","content":"x"}],"max_tokens":2,"guided_regex":@})"},
      {"/v1/chat/completions", R"({"messages":[{"role":"user","content":"x"}],"max_tokens":2,"tools":[{"type":)"
                               R"("function","function":{"name":"f","description":@,"parameters":{"$ref":@}}}]})"},
      {"/v1/completions", R"({"model":@,"prompt":@,"max_tokens":2})"},
      {"/v1/completions", R"({"prompt":"x","max_tokens":2,"grammar":@})"},
      {"/tokenize", R"({"model":@,"prompt":@})"},
      {"/detokenize", R"({"model":@,"tokens":[1]})"},
  };
  for (const std::string& path : paths) {
    const std::string quoted = json::quote(path);
    for (const auto& [endpoint, shape] : requests) {
      std::string body;
      for (const char c : shape) body += c == '@' ? quoted : std::string(1, c);
      const HttpResponse r = post(endpoint, body);
      EXPECT_LT(r.status, 500) << endpoint << " " << body << "\n" << r.body;
      EXPECT_GE(r.status, 200) << endpoint << " " << body;
      EXPECT_EQ(r.body.find(secret), std::string::npos) << endpoint << " " << body << "\n" << r.body;
      EXPECT_EQ(r.body.find("root:x:0:0"), std::string::npos) << endpoint << " " << body << "\n" << r.body;
    }
  }
  std::filesystem::remove_all(dir);
}

TEST_F(Serving, ChatCompletionHasOpenAisShape) {
  const HttpResponse r = post("/v1/chat/completions",
                              R"({"model":"ringserve-demo-random-weights","messages":[{"role":"user","content":"Hi"}],)"
                              R"("max_tokens":5,"temperature":0,"ignore_eos":true})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("content-type"), "application/json");
  const auto body = json(r.body);
  EXPECT_TRUE(std::string_view(body["id"]).starts_with("chatcmpl-"));
  EXPECT_EQ(std::string_view(body["object"]), "chat.completion");
  EXPECT_EQ(std::string_view(body["model"]), "ringserve-demo-random-weights");
  EXPECT_GT(int64_t(body["created"]), 1700000000);
  EXPECT_FALSE(std::string_view(body["system_fingerprint"]).empty());
  const auto choice = body["choices"].at(0);
  EXPECT_EQ(uint64_t(choice["index"]), 0u);
  EXPECT_EQ(std::string_view(choice["message"]["role"]), "assistant");
  EXPECT_EQ(std::string_view(choice["finish_reason"]), "length");
  EXPECT_TRUE(choice["logprobs"].is_null());
  // The prompt is the ChatML rendering (the demo has no template): "<|im_start|>user\nHi<|im_end|>\n<|im_start|>
  // assistant\n", 52 bytes. The demo's vocabulary is <unk> <s> </s> ▁ and the 256 bytes, with no merges: BOS,
  // the ▁ SentencePiece puts first, then a token per byte.
  EXPECT_EQ(uint64_t(body["usage"]["prompt_tokens"]), 2u + 52u);
  EXPECT_EQ(uint64_t(body["usage"]["completion_tokens"]), 5u);
  EXPECT_EQ(uint64_t(body["usage"]["total_tokens"]), uint64_t(body["usage"]["prompt_tokens"]) + 5);
}

TEST_F(Serving, StreamedChunksComeInOrderAndAddUpToTheWholeResponse) {
  const std::string request =
      R"({"messages":[{"role":"user","content":"Tell me"}],"max_tokens":12,"temperature":0,"ignore_eos":true)";
  const HttpResponse whole = post("/v1/chat/completions", request + "}");
  ASSERT_EQ(whole.status, 200);
  const std::string expected(json(whole.body)["choices"].at(0)["message"]["content"].get_string().value_unsafe());

  const HttpResponse streamed = post("/v1/chat/completions", request + R"(,"stream":true,"stream_options":{"include_usage":true}})");
  ASSERT_EQ(streamed.status, 200);
  EXPECT_EQ(streamed.header("content-type"), "text/event-stream");
  const std::vector<std::string> events = sse_events(streamed.body);
  ASSERT_GE(events.size(), 4u);
  EXPECT_EQ(events.back(), "[DONE]");
  std::string text, id;
  for (size_t i = 0; i + 1 < events.size(); ++i) {
    const auto chunk = json(events[i]);
    EXPECT_EQ(std::string_view(chunk["object"]), "chat.completion.chunk");
    if (i == 0) id = std::string(std::string_view(chunk["id"]));
    EXPECT_EQ(std::string_view(chunk["id"]), id);
    EXPECT_TRUE(chunk["usage"].is_null() == (i + 2 < events.size())) << events[i];
    if (i + 2 == events.size()) {  // the usage chunk
      EXPECT_EQ(chunk["choices"].get_array().size(), 0u);
      EXPECT_EQ(uint64_t(chunk["usage"]["completion_tokens"]), 12u);
      continue;
    }
    const auto choice = chunk["choices"].at(0);
    const auto delta = choice["delta"];
    EXPECT_EQ(!delta["role"].error(), i == 0) << "role only in the first chunk: " << events[i];
    std::string_view content;
    if (!delta["content"].get(content)) text += content;
    EXPECT_EQ(!choice["finish_reason"].is_null(), i + 3 == events.size()) << "finish_reason only in the last: " << events[i];
  }
  EXPECT_EQ(text, expected);
}

constexpr std::string_view kWeatherTool =
    R"([{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":)"
    R"({"city":{"type":"string","enum":["Paris","Rome"]}},"required":["city"],"additionalProperties":false}}}])";

// A chat request for the weather tool with `tool_choice`, at temperature 0; `more` adds fields.
std::string weather_request(std::string_view tool_choice, std::string_view more = "") {
  return std::string(R"({"messages":[{"role":"user","content":"Weather in Paris?"}],"tools":)") +
         std::string(kWeatherTool) + R"(,"tool_choice":)" + std::string(tool_choice) +
         R"(,"parallel_tool_calls":false,"max_tokens":200,"temperature":0)" + std::string(more) + "}";
}

// tool_choice "required" and a named function hold the demo model's noise to the call's schema: one call to
// get_weather whose arguments are valid. Streamed, its pieces come as OpenAI sends them and add up to the same.
TEST_F(Serving, ForcedToolCallsAreCallsWholeAndStreamed) {
  for (const auto& [choice, finish_reason] :
       {std::pair<std::string_view, std::string_view>{R"("required")", "tool_calls"},
        {R"({"type":"function","function":{"name":"get_weather"}})", "stop"}}) {  // OpenAI's: a named call "stops"
    SCOPED_TRACE(choice);
    const HttpResponse whole = post("/v1/chat/completions", weather_request(choice));
    ASSERT_EQ(whole.status, 200) << whole.body;
    const auto result = json(whole.body)["choices"].at(0);
    EXPECT_EQ(std::string_view(result["finish_reason"]), finish_reason) << whole.body;
    const auto message = result["message"];
    EXPECT_TRUE(message["content"].is_null()) << whole.body;
    ASSERT_EQ(message["tool_calls"].get_array().size(), 1u) << whole.body;
    const auto call = message["tool_calls"].at(0);
    EXPECT_TRUE(std::string_view(call["id"]).starts_with("call_"));
    EXPECT_EQ(std::string_view(call["type"]), "function");
    EXPECT_EQ(std::string_view(call["function"]["name"]), "get_weather");
    const std::string arguments{std::string_view(call["function"]["arguments"])};
    const std::string_view city(json(arguments)["city"]);
    EXPECT_TRUE(city == "Paris" || city == "Rome") << arguments;

    const HttpResponse streamed = post("/v1/chat/completions", weather_request(choice, R"(,"stream":true)"));
    ASSERT_EQ(streamed.status, 200);
    const std::vector<std::string> events = sse_events(streamed.body);
    ASSERT_GE(events.size(), 3u);
    EXPECT_EQ(events.back(), "[DONE]");
    std::string name, streamed_arguments, last_finish;
    size_t firsts = 0;
    for (size_t i = 0; i + 1 < events.size(); ++i) {
      const auto delta = json(events[i])["choices"].at(0)["delta"];
      std::string_view content;
      if (!delta["content"].get(content)) {
        EXPECT_EQ(content, "") << events[i];
      }
      std::string_view finish;
      if (!json(events[i])["choices"].at(0)["finish_reason"].get(finish)) last_finish = finish;
      simdjson::dom::array calls;
      if (delta["tool_calls"].get(calls)) continue;
      ASSERT_EQ(calls.size(), 1u) << events[i];
      const auto piece = calls.at(0);
      EXPECT_EQ(uint64_t(piece["index"]), 0u);
      if (!piece["id"].error()) {  // a call's first piece: id, type, name and no arguments yet
        ++firsts;
        EXPECT_EQ(std::string_view(piece["type"]), "function");
        name = std::string_view(piece["function"]["name"]);
        EXPECT_EQ(std::string_view(piece["function"]["arguments"]), "");
      } else {
        EXPECT_TRUE(piece["function"]["name"].error()) << events[i];
        streamed_arguments += std::string_view(piece["function"]["arguments"]);
      }
    }
    EXPECT_EQ(firsts, 1u);
    EXPECT_EQ(name, "get_weather");
    EXPECT_EQ(streamed_arguments, arguments);  // greedy: the same call
    EXPECT_EQ(last_finish, finish_reason);
  }
}

// "auto": the demo model's noise calls nothing, and stays content.
TEST_F(Serving, AutoToolChoiceLeavesTextThatCallsNothingAsContent) {
  const HttpResponse r = post("/v1/chat/completions", weather_request(R"("auto")", R"(,"max_tokens":8,"ignore_eos":true)"));
  ASSERT_EQ(r.status, 200) << r.body;
  const auto choice = json(r.body)["choices"].at(0);
  EXPECT_EQ(std::string_view(choice["finish_reason"]), "length");
  EXPECT_FALSE(choice["message"]["content"].is_null());
  EXPECT_TRUE(choice["message"]["tool_calls"].error()) << r.body;
}

TEST_F(Serving, SixtyFourConcurrentStreamsEachGetWhatTheyGetAlone) {
  const auto request = [](int i) {
    return post_request("/v1/completions",
                        R"({"prompt":"Story )" + std::to_string(i) + R"(:","max_tokens":16,"temperature":1,"seed":)" +
                            std::to_string(1000 + i) + R"(,"ignore_eos":true,"stream":true})");
  };
  const auto text_of = [this](const HttpResponse& r) {
    std::string text;
    for (const std::string& e : sse_events(r.body)) {
      if (e != "[DONE]") text += std::string_view(json(e)["choices"].at(0)["text"]);
    }
    return text;
  };
  std::vector<std::string> alone;
  for (int i = 0; i < 64; ++i) alone.push_back(text_of(*fetch(port_, request(i))));

  std::vector<HttpClient> clients;
  for (int i = 0; i < 64; ++i) {
    clients.emplace_back(port_);
    clients.back().send(request(i));
  }
  for (int i = 0; i < 64; ++i) {
    const auto r = clients[size_t(i)].read_response(20000ms);
    ASSERT_TRUE(r) << "stream " << i;
    EXPECT_EQ(text_of(*r), alone[size_t(i)]) << "stream " << i;
  }
  // Distinct seeds, distinct texts.
  std::sort(alone.begin(), alone.end());
  EXPECT_GT(std::unique(alone.begin(), alone.end()) - alone.begin(), 60);
  EXPECT_TRUE(metrics_show("ringserve_num_requests_running 0\n"));
  EXPECT_TRUE(metrics_show("ringserve_kv_cache_usage_ratio 0\n"));
}

TEST_F(Serving, NChoicesAndTheSameSeedUnderLoad) {
  const std::string request = R"({"prompt":"A","max_tokens":8,"n":3,"seed":7,"temperature":1,"ignore_eos":true})";
  const HttpResponse quiet = post("/v1/completions", request);
  ASSERT_EQ(quiet.status, 200) << quiet.body;
  const auto choices = json(quiet.body)["choices"].get_array();
  ASSERT_EQ(choices.size(), 3u);
  std::vector<std::string> texts;
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(uint64_t(choices.at(i)["index"]), i);
    texts.emplace_back(std::string_view(choices.at(i)["text"]));
  }
  EXPECT_NE(texts[0], texts[1]);
  EXPECT_EQ(uint64_t(json(quiet.body)["usage"]["completion_tokens"]), 24u);
  // Again while 8 other streams run.
  std::vector<HttpClient> load;
  for (int i = 0; i < 8; ++i) {
    load.emplace_back(port_);
    load.back().send(post_request("/v1/completions", R"({"prompt":"x","max_tokens":150,"ignore_eos":true,"stream":true})"));
  }
  const HttpResponse busy = post("/v1/completions", request);
  EXPECT_EQ(simdjson::minify(json(busy.body)["choices"].value_unsafe()), simdjson::minify(json(quiet.body)["choices"].value_unsafe()));
}

TEST_F(Serving, TooLongPromptsAndMaxTokensPastTheContextAre400AndTheRestIsClamped) {
  std::string words;
  for (int i = 0; i < 300; ++i) words += "ab ";  // well over the 256-token context
  HttpResponse r = post("/v1/completions", R"({"prompt":")" + words + R"("})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(std::string_view(json(r.body)["error"]["param"]), "prompt");
  EXPECT_NE(r.body.find("maximum context length is 256 tokens"), std::string::npos) << r.body;

  r = post("/v1/completions", R"({"prompt":"Hi","max_tokens":1000000000})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(std::string_view(json(r.body)["error"]["param"]), "max_tokens");
  EXPECT_NE(r.body.find("you requested 1000000000 tokens for the completion. Please reduce max_tokens to at most 256"),
            std::string::npos)
      << r.body;
  r = post("/v1/chat/completions", R"({"messages":[{"role":"user","content":"Hi"}],"max_completion_tokens":257})");
  EXPECT_EQ(r.status, 400);

  r = post("/v1/completions", R"({"prompt":"Hi","max_tokens":256,"ignore_eos":true})");  // fits, not beside "Hi"
  ASSERT_EQ(r.status, 200) << r.body;
  const auto body = json(r.body);
  EXPECT_EQ(std::string_view(body["choices"].at(0)["finish_reason"]), "length");
  EXPECT_EQ(uint64_t(body["usage"]["prompt_tokens"]) + uint64_t(body["usage"]["completion_tokens"]), 256u);
}

TEST_F(Serving, BadBodiesAre400NamingTheField) {
  const struct {
    std::string body;
    std::string param;
  } cases[] = {
      {"{not json", ""},
      {"[1,2]", ""},
      {R"({"prompt":"x","temperature":"hot"})", "temperature"},
      {R"({"prompt":"x","max_tokens":-3})", "max_tokens"},
      {R"({"prompt":"x","n":1000})", "n"},
      {R"({"prompt":[999999]})", "prompt"},
      {R"({"prompt":"x","logit_bias":{"99999":5}})", "logit_bias"},
      {R"({"max_tokens":3})", "prompt"},
  };
  for (const auto& c : cases) {
    const HttpResponse r = post("/v1/completions", c.body);
    EXPECT_EQ(r.status, 400) << c.body << " → " << r.body;
    const auto error = json(r.body)["error"];
    EXPECT_EQ(std::string_view(error["type"]), "invalid_request_error");
    if (c.param.empty()) EXPECT_TRUE(error["param"].is_null()) << r.body;
    else EXPECT_EQ(std::string_view(error["param"]), c.param) << r.body;
  }
  // Unknown fields are ignored; an oversized body never reaches the handler.
  EXPECT_EQ(post("/v1/completions", R"({"prompt":"x","max_tokens":1,"frobnicate":{"a":[1]}})").status, 200);
  EXPECT_EQ(post("/v1/completions", std::string(17 << 20, ' ')).status, 413);  // over --max-body-bytes
  EXPECT_EQ(post("/v1/completions", R"({"prompt":"x","model":"gpt-4"})").status, 404);
}

TEST_F(Serving, StopStringsAndStopTokensEndTheText) {
  const std::string free_text = completion_text(R"({"prompt":"Once","max_tokens":20,"temperature":0,"ignore_eos":true})");
  ASSERT_GE(free_text.size(), 6u);
  const std::string stop = free_text.substr(3, 2);
  const std::string stopped = completion_text(R"({"prompt":"Once","max_tokens":20,"temperature":0,"ignore_eos":true,"stop":[)" +
                                              json::quote(stop) + "]}");
  EXPECT_EQ(stopped, free_text.substr(0, free_text.find(stop)));
}

TEST_F(Serving, LogprobsInBothFormats) {
  HttpResponse r = post("/v1/chat/completions",
                        R"({"messages":[{"role":"user","content":"Hi"}],"max_tokens":3,"logprobs":true,"top_logprobs":2,"ignore_eos":true})");
  ASSERT_EQ(r.status, 200) << r.body;
  const auto content = json(r.body)["choices"].at(0)["logprobs"]["content"].get_array();
  ASSERT_EQ(content.size(), 3u);
  for (const auto token : content) {
    EXPECT_LE(double(token["logprob"]), 0.0);
    EXPECT_EQ(token["top_logprobs"].get_array().size(), 2u);
  }
  r = post("/v1/completions", R"({"prompt":"Hi","max_tokens":3,"logprobs":1,"ignore_eos":true})");
  ASSERT_EQ(r.status, 200) << r.body;
  const auto legacy = json(r.body)["choices"].at(0)["logprobs"];
  EXPECT_EQ(legacy["tokens"].get_array().size(), 3u);
  EXPECT_EQ(legacy["token_logprobs"].get_array().size(), 3u);
  EXPECT_EQ(legacy["text_offset"].get_array().size(), 3u);
}

TEST_F(Serving, TokenizeDetokenizeAndModels) {
  const HttpResponse t = post("/tokenize", R"({"prompt":"Hello world"})");
  ASSERT_EQ(t.status, 200) << t.body;
  std::string ids;
  for (const auto id : json(t.body)["tokens"].get_array()) ids += (ids.empty() ? "" : ",") + std::to_string(int64_t(id));
  const HttpResponse d = post("/detokenize", R"({"tokens":[)" + ids + "]}");
  ASSERT_EQ(d.status, 200) << d.body;
  EXPECT_EQ(std::string_view(json(d.body)["prompt"]), "Hello world");
  const auto models = fetch(port_, get_request("/v1/models"));
  ASSERT_TRUE(models);
  EXPECT_EQ(std::string_view(json(models->body)["data"].at(0)["id"]), "ringserve-demo-random-weights");
  EXPECT_EQ(uint64_t(json(models->body)["data"].at(0)["max_model_len"]), 256u);
  const auto one = fetch(port_, get_request("/v1/models/ringserve-demo-random-weights"));
  ASSERT_TRUE(one);
  EXPECT_EQ(one->status, 200);
  EXPECT_EQ(std::string_view(json(one->body)["object"]), "model");
  EXPECT_EQ(fetch(port_, get_request("/v1/models/gpt-4"))->status, 404);
  EXPECT_EQ(fetch(port_, get_request("/v1/modelsX"))->status, 404);
}

// The sampling fields reach the sampler: each one changes the output the way it should.
TEST_F(Serving, SamplingFieldsTakeEffect) {
  const std::string greedy = completion_text(R"({"prompt":"Once","max_tokens":12,"temperature":0,"ignore_eos":true})");
  // top_k 1 is greedy whatever the temperature; so is a min_p of 1.
  EXPECT_EQ(completion_text(R"({"prompt":"Once","max_tokens":12,"temperature":1.5,"top_k":1,"seed":3,"ignore_eos":true})"), greedy);
  EXPECT_EQ(completion_text(R"({"prompt":"Once","max_tokens":12,"temperature":1.5,"min_p":1,"seed":3,"ignore_eos":true})"), greedy);
  // A +100 bias on one token makes it every token: "A", the last token of "A" (after SentencePiece's "▁").
  const HttpResponse a = post("/tokenize", R"({"prompt":"A","add_special_tokens":false})");
  const auto a_tokens = json(a.body)["tokens"].get_array();
  const int64_t a_id = int64_t(a_tokens.at(a_tokens.size() - 1));
  EXPECT_EQ(completion_text(R"({"prompt":"Once","max_tokens":5,"temperature":0,"ignore_eos":true,"logit_bias":{")" +
                            std::to_string(a_id) + R"(":100}})"),
            "AAAAA");
  // Penalties steer away from what was generated: the greedy text repeats itself, the penalized one less.
  const std::string penalized = completion_text(
      R"({"prompt":"Once","max_tokens":12,"temperature":0,"ignore_eos":true,"frequency_penalty":2,"presence_penalty":2})");
  EXPECT_NE(penalized, greedy);
  // max_completion_tokens wins over max_tokens; stop_token_ids end the text with "stop".
  HttpResponse r = post("/v1/chat/completions", R"({"messages":[{"role":"user","content":"x"}],"max_tokens":9,)"
                                                R"("max_completion_tokens":3,"ignore_eos":true,"user":"u-1"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(uint64_t(json(r.body)["usage"]["completion_tokens"]), 3u);
  r = post("/v1/completions", R"({"prompt":"Once","max_tokens":5,"temperature":0,"logit_bias":{")" + std::to_string(a_id) +
                                  R"(":100},"stop_token_ids":[)" + std::to_string(a_id) + "]}");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(std::string_view(json(r.body)["choices"].at(0)["finish_reason"]), "stop");
  EXPECT_EQ(std::string_view(json(r.body)["choices"].at(0)["text"]), "");
  EXPECT_EQ(uint64_t(json(r.body)["usage"]["completion_tokens"]), 1u);  // the stop token counts, as in vLLM
}

TEST_F(Serving, PromptArraysEchoAndStreamedChoices) {
  HttpResponse r = post("/v1/completions", R"({"prompt":["One","Two"],"n":2,"max_tokens":3,"echo":true,"seed":1,"ignore_eos":true})");
  ASSERT_EQ(r.status, 200) << r.body;
  const auto choices = json(r.body)["choices"].get_array();
  ASSERT_EQ(choices.size(), 4u);
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(uint64_t(choices.at(i)["index"]), i);
    EXPECT_TRUE(std::string_view(choices.at(i)["text"]).starts_with(i < 2 ? "One" : "Two")) << i;
  }
  // BOS, ▁ and a byte token each (see ChatCompletionHasOpenAisShape): 5 a prompt, each once, not per choice.
  EXPECT_EQ(uint64_t(json(r.body)["usage"]["prompt_tokens"]), 10u);
  EXPECT_EQ(uint64_t(json(r.body)["usage"]["completion_tokens"]), 12u);

  r = post("/v1/chat/completions", R"({"messages":[{"role":"user","content":"x"}],"n":2,"max_tokens":4,"stream":true,"ignore_eos":true})");
  ASSERT_EQ(r.status, 200);
  int roles[2] = {0, 0}, finishes[2] = {0, 0};
  for (const std::string& e : sse_events(r.body)) {
    if (e == "[DONE]") continue;
    const auto choice = json(e)["choices"].at(0);
    const uint64_t index = uint64_t(choice["index"]);
    ASSERT_LT(index, 2u);
    EXPECT_EQ(finishes[index], 0) << "a chunk after its choice finished";
    if (!choice["delta"]["role"].error()) ++roles[index];
    if (!choice["finish_reason"].is_null()) ++finishes[index];
  }
  EXPECT_EQ(roles[0], 1);
  EXPECT_EQ(roles[1], 1);
  EXPECT_EQ(finishes[0], 1);
  EXPECT_EQ(finishes[1], 1);
}

// A stop string cuts the text: the logprobs, their offsets and the token count end where the text does.
TEST_F(Serving, LogprobsAndUsageEndWhereAStopStringCutsTheText) {
  const std::string free_request = R"({"prompt":"Once","max_tokens":24,"temperature":0,"ignore_eos":true,"logprobs":1)";
  const HttpResponse free_run = post("/v1/completions", free_request + "}");
  ASSERT_EQ(free_run.status, 200) << free_run.body;
  const auto choice = json(free_run.body)["choices"].at(0);
  const std::string text{std::string_view(choice["text"])};
  std::vector<size_t> offsets;
  for (const auto offset : choice["logprobs"]["text_offset"].get_array()) offsets.push_back(uint64_t(offset));
  ASSERT_EQ(offsets.size(), 24u);
  // A stop string that first appears where token k starts, k well inside the text.
  size_t k = 3;
  std::string stop;
  for (; k + 4 < offsets.size(); ++k) {
    if (offsets[k + 1] <= offsets[k]) continue;
    stop = text.substr(offsets[k], offsets[k + 1] - offsets[k]);
    if (text.find(stop) == offsets[k]) break;
  }
  ASSERT_LT(k + 4, offsets.size()) << "no token starts a stop string of its own in " << text;
  const std::string cut_request = free_request + R"(,"stop":[)" + json::quote(stop) + "]";
  for (const bool stream : {false, true}) {
    const HttpResponse r = post("/v1/completions", cut_request + (stream ? R"(,"stream":true,"stream_options":{"include_usage":true}})" : "}"));
    ASSERT_EQ(r.status, 200) << r.body;
    std::string got_text;
    std::vector<std::string> tokens;
    std::vector<size_t> got_offsets;
    uint64_t completion_tokens = 0;
    const auto gather = [&](simdjson::dom::element object) {
      if (!object["usage"].is_null() && !object["usage"].error()) completion_tokens = uint64_t(object["usage"]["completion_tokens"]);
      for (const auto c : object["choices"].get_array()) {
        got_text += std::string_view(c["text"]);
        if (c["logprobs"].is_null()) continue;
        for (const auto t : c["logprobs"]["tokens"].get_array()) tokens.emplace_back(std::string_view(t));
        for (const auto o : c["logprobs"]["text_offset"].get_array()) got_offsets.push_back(uint64_t(o));
      }
    };
    if (stream) {
      for (const std::string& e : sse_events(r.body)) {
        if (e != "[DONE]") gather(json(e));
      }
    } else {
      gather(json(r.body));
    }
    // The tokens whose text starts before the cut; one whose bytes only begin a character of the stop
    // string starts at the cut too, and goes with it.
    const size_t kept = size_t(std::count_if(offsets.begin(), offsets.end(), [&](size_t o) { return o < offsets[k]; }));
    EXPECT_EQ(got_text, text.substr(0, offsets[k])) << "stream " << stream;
    EXPECT_EQ(got_offsets, std::vector<size_t>(offsets.begin(), offsets.begin() + long(kept))) << "stream " << stream;
    EXPECT_EQ(tokens.size(), kept) << "stream " << stream;
    EXPECT_EQ(completion_tokens, kept) << "stream " << stream;
  }
  EXPECT_TRUE(metrics_show("ringserve_sequences_finished_total{outcome=\"stop\"} 2\n"));
  EXPECT_TRUE(metrics_show("ringserve_sequences_finished_total{outcome=\"length\"} 1\n"));
  EXPECT_TRUE(metrics_show("ringserve_sequences_finished_total{outcome=\"cancelled\"} 0\n"));
  EXPECT_TRUE(metrics_show("ringserve_e2e_request_latency_seconds_count 3\n"));
}

// Echo with logprobs scores the prompt: its first token has none (null), the others are the model's; with
// max_tokens 0 nothing is generated.
TEST_F(Serving, EchoWithLogprobsScoresThePrompt) {
  const std::string prompt = R"("prompt":[1,72,101,108,108,111])";  // BOS "Hello" in the demo's byte vocabulary
  HttpResponse r = post("/v1/completions", "{" + prompt + R"(,"echo":true,"logprobs":2,"max_tokens":0})");
  ASSERT_EQ(r.status, 200) << r.body;
  const auto scored = json(r.body);
  const auto choice = scored["choices"].at(0);
  EXPECT_EQ(std::string_view(choice["finish_reason"]), "length");
  EXPECT_EQ(uint64_t(scored["usage"]["completion_tokens"]), 0u);
  EXPECT_EQ(uint64_t(scored["usage"]["prompt_tokens"]), 6u);
  const auto token_logprobs = choice["logprobs"]["token_logprobs"].get_array();
  ASSERT_EQ(token_logprobs.size(), 6u);
  EXPECT_TRUE(token_logprobs.at(0).is_null());
  EXPECT_TRUE(choice["logprobs"]["top_logprobs"].at(0).is_null());
  for (size_t i = 1; i < 6; ++i) {
    EXPECT_LE(double(token_logprobs.at(i)), 0.0);
    EXPECT_EQ(choice["logprobs"]["top_logprobs"].at(i).get_object().size(), 2u);
  }
  EXPECT_EQ(choice["logprobs"]["tokens"].get_array().size(), 6u);
  EXPECT_EQ(choice["logprobs"]["text_offset"].at(0).get_uint64().value(), 0u);

  // Generating after it: the same prompt scores, then the tokens a plain request gets.
  r = post("/v1/completions", "{" + prompt + R"(,"echo":true,"logprobs":2,"max_tokens":3,"temperature":0,"ignore_eos":true})");
  ASSERT_EQ(r.status, 200) << r.body;
  const auto with_tokens = json(r.body)["choices"].at(0)["logprobs"]["token_logprobs"].get_array();
  ASSERT_EQ(with_tokens.size(), 9u);
  for (size_t i = 1; i < 6; ++i) EXPECT_EQ(double(with_tokens.at(i)), double(token_logprobs.at(i)));
  r = post("/v1/completions", "{" + prompt + R"(,"logprobs":2,"max_tokens":3,"temperature":0,"ignore_eos":true})");
  const auto plain = json(r.body)["choices"].at(0)["logprobs"]["token_logprobs"].get_array();
  ASSERT_EQ(plain.size(), 3u);
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(double(with_tokens.at(6 + i)), double(plain.at(i)));

  // Echo alone with max_tokens 0 is the prompt, and nothing runs.
  r = post("/v1/completions", R"({"prompt":"Once upon","echo":true,"max_tokens":0})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(std::string_view(json(r.body)["choices"].at(0)["text"]), "Once upon");
  EXPECT_EQ(post("/v1/completions", R"({"prompt":"Once upon","max_tokens":0})").status, 400);
}

TEST_F(Serving, ARequestForMoreSequencesThanTheServerHoldsIs400) {
  std::string prompts;
  for (int i = 0; i < 41; ++i) prompts += std::string(i ? "," : "") + "\"p\"";
  const HttpResponse r = post("/v1/completions", R"({"prompt":[)" + prompts + R"(],"n":2,"max_tokens":1})");
  EXPECT_EQ(r.status, 400) << r.body;  // 82 sequences, 80 at most
  EXPECT_EQ(std::string_view(json(r.body)["error"]["param"]), "n");
}

TEST_F(Serving, TheWarmUpIsNotARequest) {
  EXPECT_TRUE(metrics_show("ringserve_sequences_finished_total{outcome=\"length\"} 0\n"));
  EXPECT_TRUE(metrics_show("ringserve_e2e_request_latency_seconds_count 0\n"));
  EXPECT_TRUE(metrics_show("ringserve_generation_tokens_total 0\n"));
  EXPECT_TRUE(metrics_show("ringserve_prompt_tokens_total 0\n"));
}

TEST_F(ServingLimits, RequestAndSequenceGaugesCountTheirOwnUnit) {
  start({}, 256, {}, true);
  HttpClient client(port_);
  client.send(post_request("/v1/completions", R"({"prompt":"x","n":3,"max_tokens":200,"ignore_eos":true,"stream":true})"));
  ASSERT_TRUE(in_flight(3));
  gate().allow(2);  // the step the engine planned when the first choice came, and one with all three
  EXPECT_TRUE(metrics_show("ringserve_num_requests_running 1\n"));
  EXPECT_TRUE(metrics_show("ringserve_num_sequences_running 3\n"));
  client.close();
  gate().open();
  EXPECT_TRUE(metrics_show("ringserve_num_sequences_running 0\n"));
  EXPECT_TRUE(metrics_show("ringserve_num_requests_running 0\n"));
}

// GKE Inference Gateway's model server protocol, as its endpoint picker reads it: the queued-requests gauge counts
// requests (not sequences) that wait, and falls back to 0; the KV utilization gauge is a fraction of the whole pool
// that rises with running sequences and falls back to its idle value (0: cached blocks nobody holds count as free)
// when they finish or are cancelled.
TEST_F(ServingLimits, TheGaugesAnInferenceGatewayReadsMeanWhatItsProtocolSays) {
  start({.api_key = "", .max_in_flight = 16}, 256, {}, true, /*max_seqs=*/2);
  EXPECT_EQ(metric("ringserve_kv_cache_usage_ratio"), 0);
  HttpClient running(port_);
  running.send(post_request("/v1/completions", R"({"prompt":"x","n":2,"max_tokens":200,"ignore_eos":true,"stream":true})"));
  ASSERT_TRUE(in_flight(2));
  gate().allow(2);
  EXPECT_TRUE(metrics_show("ringserve_num_sequences_running 2\n"));
  std::vector<std::unique_ptr<HttpClient>> queued;
  for (int i = 0; i < 3; ++i) {
    queued.push_back(std::make_unique<HttpClient>(port_));
    queued.back()->send(post_request("/v1/completions", R"({"prompt":"y","n":2,"max_tokens":200,"ignore_eos":true,)"
                                                        R"("stream":true})"));
  }
  ASSERT_TRUE(in_flight(8));
  gate().allow(2);  // the step under way when they came, then one planned with them queued (gauges follow steps)
  EXPECT_TRUE(metrics_show("ringserve_num_requests_waiting 3\n"));  // requests, though 6 sequences wait
  EXPECT_TRUE(metrics_show("ringserve_num_sequences_waiting 6\n"));
  const double held = metric("ringserve_kv_cache_usage_ratio");
  EXPECT_GT(held, 0);
  EXPECT_LE(held, 1);

  running.close();  // cancelled: its slots go to the queued requests, which run or are cancelled in turn
  gate().open();
  for (auto& client : queued) client->close();
  EXPECT_TRUE(metrics_show("ringserve_num_requests_waiting 0\n"));
  EXPECT_TRUE(metrics_show("ringserve_num_requests_running 0\n"));
  EXPECT_TRUE(metrics_show("ringserve_kv_cache_usage_ratio 0\n"));
  const auto m = fetch(port_, get_request("/metrics"));
  ASSERT_TRUE(m);
  for (const char* gauge : {"ringserve_num_requests_waiting", "ringserve_kv_cache_usage_ratio"}) {
    EXPECT_NE(m->body.find(std::string("# TYPE ") + gauge + " gauge\n"), std::string::npos) << gauge;
  }
}

// 64 prompts × 16 choices run beside a one-line request: the small one gets a sequence slot as soon as one
// frees, not after the 960 sequences queued before it.
TEST_F(ServingLimits, ASmallRequestIsServedWhileAHugeOneRuns) {
  start({.api_key = "", .max_in_flight = 1100});
  std::string prompts;
  for (int i = 0; i < 64; ++i) prompts += std::string(i ? "," : "") + "\"Story " + std::to_string(i) + "\"";
  HttpClient huge(port_);
  huge.send(post_request("/v1/completions", R"({"prompt":[)" + prompts +
                                                R"(],"n":16,"max_tokens":16,"ignore_eos":true,"stream":true})"));
  std::string seen = huge.read_until("\"text\"");
  ASSERT_NE(seen.find("200 OK"), std::string::npos) << seen.substr(0, 300);
  const HttpResponse small = post("/v1/completions", R"({"prompt":"Hi","max_tokens":4,"ignore_eos":true})");
  ASSERT_EQ(small.status, 200) << small.body;
  // 1,024 sequences in 64 slots take 16 waves; the small one needed one free slot, so most still wait.
  const auto m = fetch(port_, get_request("/metrics"));
  ASSERT_TRUE(m);
  const size_t at = m->body.find("\nringserve_num_sequences_waiting ");
  ASSERT_NE(at, std::string::npos);
  EXPECT_GT(std::stoul(m->body.substr(at + 33)), 512u) << m->body.substr(at, 50);
  const auto rest = huge.read_response(60000ms);
  ASSERT_TRUE(rest);
  EXPECT_EQ(sse_events(rest->body).back(), "[DONE]");
}

TEST_F(ServingLimits, SequencesCountAgainstTheLimit) {
  start({.api_key = "", .max_in_flight = 4}, 256, {}, true);
  HttpClient busy(port_);
  busy.send(post_request("/v1/completions", R"({"prompt":"x","n":3,"max_tokens":200,"ignore_eos":true,"stream":true})"));
  ASSERT_TRUE(in_flight(3));
  EXPECT_EQ(post("/v1/completions", R"({"prompt":"x","n":2,"max_tokens":1})").status, 429);
  gate().open();
  EXPECT_EQ(post("/v1/completions", R"({"prompt":"x","n":1,"max_tokens":1})").status, 200);
}

// At the drain deadline a stream's unfinished choices end with finish_reason "abort", then [DONE].
TEST_F(ServingLimits, AStreamCutAtTheDrainDeadlineSaysSo) {
  io::ServerConfig config;
  config.drain_timeout = io::Seconds(0.2);
  start({}, 256, config, true);  // both requests still run at the deadline: the gate holds them
  HttpClient stream(port_);
  stream.send(post_request("/v1/chat/completions", R"({"messages":[{"role":"user","content":"x"}],"n":2,)"
                                                   R"("max_tokens":200,"ignore_eos":true,"stream":true})"));
  stream.read_until("\"content\"");  // the first chunk: the role, before any token
  HttpClient whole(port_);
  whole.send(post_request("/v1/completions", R"({"prompt":"x","max_tokens":200,"ignore_eos":true})"));
  ASSERT_TRUE(in_flight(3));
  server_->drain();
  const auto cut = stream.read_response(5000ms);
  ASSERT_TRUE(cut);
  const std::vector<std::string> events = sse_events(cut->body);
  ASSERT_GE(events.size(), 3u);
  EXPECT_EQ(events.back(), "[DONE]");
  int aborted = 0;
  for (const std::string& e : events) {
    if (e == "[DONE]") continue;
    const auto choice = json(e)["choices"].at(0);
    if (!choice["finish_reason"].is_null()) {
      EXPECT_EQ(std::string_view(choice["finish_reason"]), "abort") << e;
      ++aborted;
    }
  }
  EXPECT_EQ(aborted, 2);
  const auto refused = whole.read_response(5000ms);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 503);
  server_->wait();
  gate().open();
  const engine::EngineMetrics& engine = engine_->metrics();
  for (int i = 0; i < 200 && engine.kv_blocks_used.value() != 0; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(engine.kv_blocks_used.value(), 0);  // the cut requests' blocks are free
}

TEST_F(ServingLimits, BeyondRunningPlusQueuedIs429WithRetryAfter) {
  start({.api_key = "", .max_in_flight = 2}, 256, {}, true);  // streams that run only as far as the gate lets them
  std::vector<HttpClient> busy;
  for (int i = 0; i < 2; ++i) {
    busy.emplace_back(port_);
    busy.back().send(post_request("/v1/completions", R"({"prompt":"x","max_tokens":200,"ignore_eos":true,"stream":true})"));
  }
  ASSERT_TRUE(in_flight(2));
  const HttpResponse r = post("/v1/completions", R"({"prompt":"x"})");
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.header("retry-after"), "1");
  busy.clear();  // they go away; their slots come back
  gate().open();
  bool admitted = false;
  for (int i = 0; i < 200 && !admitted; ++i) {
    admitted = post("/v1/completions", R"({"prompt":"x","max_tokens":1})").status == 200;
    if (!admitted) std::this_thread::sleep_for(10ms);
  }
  EXPECT_TRUE(admitted);
}

TEST_F(ServingLimits, AClientThatGoesAwayFreesItsBlocks) {
  start({}, 256, {}, true);  // the stream is still running when the client leaves: the gate holds it
  HttpClient client(port_);
  gate().allow(1);  // the idle engine's first step: this request's prompt and first token
  client.send(post_request("/v1/completions",
                           R"({"prompt":"Once","max_tokens":200,"ignore_eos":true,"stream":true})"));
  const std::string head = client.read_until("200 OK");
  ASSERT_NE(head.find("200 OK"), std::string::npos) << head;
  EXPECT_TRUE(metrics_show("ringserve_num_requests_running 1\n"));  // after its first step; the next waits
  client.close();
  gate().open();
  EXPECT_TRUE(metrics_show("ringserve_num_requests_running 0\n"));
  EXPECT_TRUE(metrics_show("ringserve_kv_cache_usage_ratio 0\n"));
  EXPECT_TRUE(metrics_show("ringserve_sequences_finished_total{outcome=\"cancelled\"} 1\n"));
}

TEST_F(ServingLimits, ApiKeyGuardsTheApiButNotHealth) {
  start({.api_key = "sekret", .max_in_flight = 8});
  EXPECT_EQ(post("/v1/completions", R"({"prompt":"x","max_tokens":1})").status, 401);
  EXPECT_EQ(post("/v1/completions", R"({"prompt":"x","max_tokens":1})", "Authorization: Bearer sekreT\r\n").status, 401);
  EXPECT_EQ(post("/v1/completions", R"({"prompt":"x","max_tokens":1})", "Authorization: Bearer sekret\r\n").status, 200);
  EXPECT_EQ(fetch(port_, get_request("/v1/models"))->status, 401);
  EXPECT_EQ(fetch(port_, get_request("/health"))->status, 200);
  EXPECT_EQ(fetch(port_, get_request("/ready"))->status, 200);
  EXPECT_EQ(fetch(port_, get_request("/metrics"))->status, 200);
}

TEST_F(ServingLimits, NotReadyUntilTheModelIsServed) {
  io::ServerConfig config;
  config.host = "127.0.0.1";
  config.port = 0;
  config.pin_shards = false;
  server_ = std::make_unique<io::Server>(config);
  api_ = std::make_unique<api::Api>(*server_, api::ApiOptions{.api_key = "", .max_in_flight = 4});
  add_health_endpoints(*server_, ready_);
  server_->start();
  port_ = server_->port();
  EXPECT_EQ(fetch(port_, get_request("/ready"))->status, 503);
  const HttpResponse r = post("/v1/completions", R"({"prompt":"x"})");
  EXPECT_EQ(r.status, 503);
  EXPECT_TRUE(r.header("retry-after"));
}

// The prefix cache over HTTP: a repeated prompt reports its cached tokens and gets the same text; a different
// cache_salt shares nothing; the metrics count tokens looked up and found.
TEST_F(Serving, RepeatedPromptsReportTheirCachedTokens) {
  // BOS, ▁ and 40 bytes: 42 tokens, whose first two 16-token blocks can be shared (the last token never is).
  const std::string request = R"({"prompt":")" + std::string(40, 'A') + R"(","max_tokens":4,"temperature":0,"ignore_eos":true)";
  const auto cached = [this](const HttpResponse& r) {
    return uint64_t(json(r.body)["usage"]["prompt_tokens_details"]["cached_tokens"]);
  };
  const HttpResponse cold = post("/v1/completions", request + "}");
  ASSERT_EQ(cold.status, 200) << cold.body;
  EXPECT_EQ(cached(cold), 0u);
  const HttpResponse warm = post("/v1/completions", request + "}");
  EXPECT_EQ(cached(warm), 32u);
  EXPECT_EQ(std::string_view(json(warm.body)["choices"].at(0)["text"]),
            std::string_view(json(cold.body)["choices"].at(0)["text"]));
  EXPECT_EQ(cached(post("/v1/completions", request + R"(,"cache_salt":"tenant-b"})")), 0u);
  EXPECT_EQ(cached(post("/v1/completions", request + R"(,"cache_salt":"tenant-b"})")), 32u);
  EXPECT_TRUE(metrics_show("ringserve_prefix_cache_queries_total 168\n"));
  EXPECT_TRUE(metrics_show("ringserve_prefix_cache_hits_total 64\n"));
  EXPECT_TRUE(metrics_show("ringserve_prefix_cache_blocks "));
}

TEST_F(ServingLimits, WithoutThePrefixCacheNothingIsShared) {
  prefix_caching_ = false;
  start({});
  const std::string request = R"({"prompt":")" + std::string(40, 'A') + R"(","max_tokens":1})";
  for (int i = 0; i < 2; ++i) {
    const HttpResponse r = post("/v1/completions", request);
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(uint64_t(json(r.body)["usage"]["prompt_tokens_details"]["cached_tokens"]), 0u);
  }
  EXPECT_TRUE(metrics_show("ringserve_prefix_cache_hits_total 0\n"));
  EXPECT_TRUE(metrics_show("ringserve_prefix_cache_blocks 0\n"));
}

// A real trained model end to end: llama.cpp's prompt ids and greedy text (tests/data), and logprobs that are
// the log-softmax of the executor's own logits for the same tokens, not just numbers of the right sign.
TEST_F(ServingLimits, TheStoriesModelAnswersAsLlamaCppWithTheLogitsLogprobs) {
  const std::string path = RINGSERVE_SOURCE_DIR "/../shared/models/stories260K.gguf";
  if (!std::filesystem::exists(path)) RS_SKIP_UNLESS_CI(path + " is missing");
  model_ = path;
  start({}, 256);
  simdjson::dom::parser reference_parser;
  const auto reference =
      reference_parser.load(RINGSERVE_SOURCE_DIR "/tests/data/llama_cpp_reference.json")["stories260K.gguf"];
  std::vector<engine::TokenId> prompt, greedy;
  for (const auto id : reference["prompt_ids"].get_array()) prompt.push_back(engine::TokenId(int64_t(id)));
  for (const auto id : reference["greedy_ids"].get_array()) greedy.push_back(engine::TokenId(int64_t(id)));

  const HttpResponse r = post("/v1/completions", R"({"prompt":"Once upon a time","max_tokens":30,"temperature":0,)"
                                                 R"("logprobs":2})");
  ASSERT_EQ(r.status, 200) << r.body;
  const auto body = json(r.body);
  EXPECT_EQ(uint64_t(body["usage"]["prompt_tokens"]), prompt.size());
  EXPECT_EQ(uint64_t(body["usage"]["completion_tokens"]), greedy.size());
  const auto choice = body["choices"].at(0);
  EXPECT_EQ(std::string_view(choice["text"]), std::string_view(reference["text"]));

  // The same tokens through an executor of the same weights in one step, every row's logits kept.
  cpu::ModelWeights weights(cpu::describe_model(path), io::StreamOptions{.direct = false});
  cpu::CpuExecutor executor(weights, {.threads = 1, .kv_blocks = 8, .block_tokens = 16});
  std::vector<engine::TokenId> tokens = prompt;
  tokens.insert(tokens.end(), greedy.begin(), greedy.end() - 1);
  const std::vector<engine::BlockId> blocks = {0, 1, 2};
  engine::Batch batch;
  batch.sequences.push_back({tokens, 0, blocks, uint32_t(tokens.size())});
  engine::Logits logits;
  executor.step(batch, logits);
  const tokenizer::Tokenizer& tokenizer = *service_->serving().tokenizer;
  const auto token_logprobs = choice["logprobs"]["token_logprobs"].get_array();
  const auto top_logprobs = choice["logprobs"]["top_logprobs"].get_array();
  ASSERT_EQ(token_logprobs.size(), greedy.size());
  for (size_t i = 0; i < greedy.size(); ++i) {
    const sampler::Sampled want = sampler::score_token(logits.row(prompt.size() - 1 + i), greedy[i], 2);
    EXPECT_EQ(float(double(token_logprobs.at(i))), want.logprob) << "token " << i;
    for (const auto& [id, logprob] : want.top) {
      EXPECT_EQ(float(double(top_logprobs.at(i)[tokenizer.piece(id)])), logprob) << "token " << i << " id " << id;
    }
  }

  // Each prompt of an array counts once, whatever n.
  const HttpResponse twice = post("/v1/completions", R"({"prompt":["Once upon a time","Once upon a time"],"n":2,)"
                                                     R"("max_tokens":1})");
  ASSERT_EQ(twice.status, 200) << twice.body;
  EXPECT_EQ(uint64_t(json(twice.body)["usage"]["prompt_tokens"]), 2 * prompt.size());
}

// A random-weight BERT encoder (synth --arch bert --preset tiny) behind /v1/embeddings and the semantic cache.
class ServingEmbeddings : public Serving {
 protected:
  void SetUp() override {
    embedding_model_ = ::testing::TempDir() + "/serving-bert-" + std::to_string(getpid()) + ".gguf";
    model::synth_model({.architecture = model::SynthArchitecture::bert, .preset = "tiny", .output = embedding_model_});
  }
  void TearDown() override {
    Serving::TearDown();
    std::filesystem::remove(embedding_model_);
  }
  void start_with_semantic_cache(float threshold) {
    api::ApiOptions options;
    options.semantic_cache = cache::SemanticStoreOptions{.capacity = 64, .threshold = threshold};
    start(options);
  }

  // The encoder run directly on the file, as the server's own tokenizer tokenizes `text`.
  std::vector<float> embedding_of(std::string_view text) {
    if (!encoder_) encoder_ = std::make_unique<cpu::BertEncoder>(embedding_model_, 1);
    const std::vector<int32_t> tokens = embeddings_->serving().tokenizer->encode(text, true);
    std::vector<float> out(encoder_->dims());
    const std::span<const int32_t> input(tokens);
    encoder_->encode(std::span(&input, 1), out);
    return out;
  }

  float cosine(std::string_view a, std::string_view b) {
    const std::vector<float> x = embedding_of(a), y = embedding_of(b);
    return std::inner_product(x.begin(), x.end(), y.begin(), 0.0f);  // both L2-normalised
  }

  std::vector<float> floats(simdjson::dom::element array) {
    std::vector<float> out;
    for (const simdjson::dom::element x : array.get_array()) out.push_back(float(double(x)));
    return out;
  }

  std::unique_ptr<cpu::BertEncoder> encoder_;

  // A chat request's answer text (and the cache header it came with, "" for none).
  std::pair<std::string, std::string> ask(std::string_view body, std::string_view headers = "") {
    const HttpResponse r = post("/v1/chat/completions", body, headers);
    EXPECT_EQ(r.status, 200) << r.body;
    if (r.status != 200) return {};
    return {std::string(json(r.body)["choices"].at(0)["message"]["content"].get_string().value_unsafe()),
            r.header("x-ringserve-cache").value_or("")};
  }
};

std::string chat_body(std::string_view message, std::string_view fields = R"("temperature":0,"max_tokens":8)") {
  return R"({"messages":[{"role":"user","content":)" + json::quote(message) + "}]," + std::string(fields) + "}";
}

TEST_F(Serving, EmbeddingsWithoutAnEmbeddingModelAre404SayingHowToEnableThem) {
  const HttpResponse r = post("/v1/embeddings", R"({"input":"hello"})");
  EXPECT_EQ(r.status, 404);
  EXPECT_NE(r.body.find("--embedding-model"), std::string::npos) << r.body;
}

TEST_F(ServingEmbeddings, EmbeddingsAreTheEncodersOwnVectorsInEitherEncoding) {
  start({});
  const HttpResponse r = post("/v1/embeddings", R"({"input":["hello world","the cat sat"],"model":"bert-test"})");
  ASSERT_EQ(r.status, 200) << r.body;
  const auto body = json(r.body);
  EXPECT_EQ(std::string_view(body["object"]), "list");
  EXPECT_EQ(std::string_view(body["model"]), "bert-test");
  ASSERT_EQ(body["data"].get_array().size(), 2u);
  EXPECT_EQ(uint64_t(body["data"].at(1)["index"]), 1u);
  EXPECT_EQ(floats(body["data"].at(0)["embedding"]), embedding_of("hello world"));
  EXPECT_EQ(floats(body["data"].at(1)["embedding"]), embedding_of("the cat sat"));
  const tokenizer::Tokenizer& t = *embeddings_->serving().tokenizer;
  const uint64_t tokens = t.encode("hello world", true).size() + t.encode("the cat sat", true).size();
  EXPECT_EQ(uint64_t(body["usage"]["prompt_tokens"]), tokens);
  EXPECT_EQ(uint64_t(body["usage"]["total_tokens"]), tokens);

  const HttpResponse b64 = post("/v1/embeddings", R"({"input":"hello world","encoding_format":"base64"})");
  ASSERT_EQ(b64.status, 200) << b64.body;
  std::string expected;
  const std::vector<float> vector = embedding_of("hello world");
  api::append_base64(expected, std::as_bytes(std::span(vector)));
  EXPECT_EQ(std::string_view(json(b64.body)["data"].at(0)["embedding"]), expected);

  // Token ids are taken as given.
  const std::vector<int32_t> ids = t.encode("hello world", true);
  std::string id_list;
  for (const int32_t id : ids) id_list += (id_list.empty() ? "" : ",") + std::to_string(id);
  const HttpResponse by_ids = post("/v1/embeddings", R"({"input":[)" + id_list + "]}");
  ASSERT_EQ(by_ids.status, 200) << by_ids.body;
  EXPECT_EQ(floats(json(by_ids.body)["data"].at(0)["embedding"]), vector);
}

TEST_F(ServingEmbeddings, ManyConcurrentRequestsEachGetTheirOwnVectors) {
  start({});
  std::vector<std::thread> clients;
  std::vector<std::string> bodies(16);
  for (size_t i = 0; i < bodies.size(); ++i) {
    clients.emplace_back([&, i] {
      const auto r = fetch(port_, post_request("/v1/embeddings", R"({"input":"sentence number )" + std::to_string(i) + R"("})"));
      bodies[i] = r && r->status == 200 ? r->body : "";
    });
  }
  for (auto& c : clients) c.join();
  for (size_t i = 0; i < bodies.size(); ++i) {
    ASSERT_FALSE(bodies[i].empty()) << i;
    EXPECT_EQ(floats(json(bodies[i])["data"].at(0)["embedding"]), embedding_of("sentence number " + std::to_string(i)))
        << i;
  }
}

TEST_F(ServingEmbeddings, WhatTheModelCannotEmbedIsRefusedNamingTheField) {
  start({});
  const uint32_t dims = embeddings_->serving().engine->dims();
  HttpResponse r = post("/v1/embeddings", R"({"input":"hi","dimensions":)" + std::to_string(dims + 1) + "}");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(std::string_view(json(r.body)["error"]["param"]), "dimensions");
  EXPECT_EQ(post("/v1/embeddings", R"({"input":"hi","dimensions":)" + std::to_string(dims) + "}").status, 200);
  const std::string long_text(4 * embeddings_->serving().engine->max_tokens(), 'a');
  r = post("/v1/embeddings", R"({"input":["ok",")" + [&] {
    std::string words;
    for (uint32_t i = 0; i < embeddings_->serving().engine->max_tokens(); ++i) words += "word ";
    return words;
  }() + R"("]})");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(std::string_view(json(r.body)["error"]["param"]), "input[1]");
  r = post("/v1/embeddings", R"({"input":[1,2,99999999]})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(std::string_view(json(r.body)["error"]["param"]), "input");
  EXPECT_EQ(post("/v1/embeddings", R"({"input":"hi","model":"other"})").status, 404);
}

TEST_F(ServingEmbeddings, ACachedAnswerIsExactlyTheColdOneAsJsonAndAsAStream) {
  start_with_semantic_cache(0.95f);
  const std::string question = chat_body("Tell me a story about a cat");
  const auto [cold, cold_header] = ask(question);
  EXPECT_EQ(cold_header, "");
  ASSERT_FALSE(cold.empty());
  const HttpResponse cold_whole = post("/v1/chat/completions", chat_body("Tell me a story about a cat", R"("temperature":0,"max_tokens":8,"cache":false)"));
  const auto cold_usage = json(cold_whole.body)["usage"];
  const uint64_t completion_tokens = uint64_t(cold_usage["completion_tokens"]);

  const HttpResponse hit = post("/v1/chat/completions", question);
  ASSERT_EQ(hit.status, 200);
  EXPECT_EQ(hit.header("x-ringserve-cache"), "exact");
  EXPECT_EQ(hit.header("x-ringserve-cache-similarity"), "1.0000");
  const auto body = json(hit.body);
  EXPECT_EQ(std::string_view(body["choices"].at(0)["message"]["content"]), cold);
  EXPECT_EQ(std::string_view(body["choices"].at(0)["finish_reason"]), "length");
  EXPECT_EQ(uint64_t(body["usage"]["completion_tokens"]), completion_tokens);
  EXPECT_EQ(uint64_t(body["usage"]["prompt_tokens"]), uint64_t(cold_usage["prompt_tokens"]));
  // Whitespace alone is the same question.
  EXPECT_EQ(ask(chat_body("  Tell me   a story about a cat ")).second, "exact");

  const HttpResponse streamed = post("/v1/chat/completions", chat_body("Tell me a story about a cat",
      R"("temperature":0,"max_tokens":8,"stream":true,"stream_options":{"include_usage":true})"));
  ASSERT_EQ(streamed.status, 200);
  EXPECT_EQ(streamed.header("x-ringserve-cache"), "exact");
  // stream is no part of the key: the stream gets the whole request's answer
  const std::vector<std::string> events = sse_events(streamed.body);
  ASSERT_GE(events.size(), 4u);
  EXPECT_EQ(events.back(), "[DONE]");
  std::string text;
  for (size_t i = 0; i + 2 < events.size(); ++i) {
    const auto choice = json(events[i])["choices"].at(0);
    if (i == 0) {
      EXPECT_EQ(std::string_view(choice["delta"]["role"]), "assistant");
    }
    std::string_view piece;
    if (!choice["delta"]["content"].get(piece)) text += piece;
    if (i + 3 == events.size()) {
      EXPECT_EQ(std::string_view(choice["finish_reason"]), "length");
    }
  }
  EXPECT_EQ(text, cold);
  EXPECT_EQ(uint64_t(json(events[events.size() - 2])["usage"]["completion_tokens"]), completion_tokens);
  EXPECT_TRUE(metrics_show("ringserve_semantic_cache_hits_total{tier=\"exact\"} 3"));
}

TEST_F(ServingEmbeddings, OnlyDeterministicRequestsThatDoNotOptOutAreCached) {
  start_with_semantic_cache(0.95f);
  const std::string random = chat_body("Say something", R"("temperature":0.9,"max_tokens":4)");
  ask(random);
  EXPECT_EQ(ask(random).second, "");
  const std::string seeded = chat_body("Say something", R"("temperature":0.9,"seed":7,"max_tokens":4)");
  const auto first = ask(seeded);
  EXPECT_EQ(ask(seeded), std::make_pair(first.first, std::string("exact")));
  const std::string greedy = chat_body("Say something else");
  ask(greedy);
  EXPECT_EQ(ask(greedy, "Cache-Control: no-cache\r\n").second, "");
  EXPECT_EQ(ask(chat_body("Say something else", R"("temperature":0,"max_tokens":8,"cache":false)")).second, "");
  EXPECT_EQ(ask(greedy).second, "exact");
  // Anything else in the request is part of the key.
  EXPECT_EQ(ask(chat_body("Say something else", R"("temperature":0,"max_tokens":9)")).second, "");
}

TEST_F(ServingEmbeddings, SimilarQuestionsHitButNotNegationsNumbersOrSwappedNames) {
  start_with_semantic_cache(0.5f);  // the random encoder's similarities are what they are: the guards must hold
  const auto [cold, header] = ask(chat_body("Is the river Thames longer than the Seine?"));
  EXPECT_EQ(header, "");
  const HttpResponse similar = post("/v1/chat/completions", chat_body("is the river Thames longer than the Seine"));
  ASSERT_EQ(similar.status, 200);
  EXPECT_EQ(similar.header("x-ringserve-cache"), "semantic");
  EXPECT_GE(std::stof(similar.header("x-ringserve-cache-similarity").value_or("0")), 0.5f);
  EXPECT_EQ(std::string_view(json(similar.body)["choices"].at(0)["message"]["content"]), cold);
  // Each of these is close enough to pass the threshold: only the guard keeps it from the wrong answer.
  const std::string original = "Is the river Thames longer than the Seine?";
  for (const std::string_view other :
       {"Is the river Thames not longer than the Seine?", "Is the river Seine longer than the Thames?"}) {
    EXPECT_GE(cosine(original, other), 0.5f) << other;
    EXPECT_EQ(ask(chat_body(other)).second, "") << other;
  }
  ask(chat_body("Is 17 a prime number?"));
  EXPECT_GE(cosine("Is 17 a prime number?", "Is 19 a prime number?"), 0.5f);
  EXPECT_EQ(ask(chat_body("Is 19 a prime number?")).second, "");
  EXPECT_TRUE(metrics_show("ringserve_semantic_cache_hits_total{tier=\"semantic\"} 1"));
}

}  // namespace
}  // namespace rs::test
