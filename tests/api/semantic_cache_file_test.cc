// The semantic cache file end to end: `warm --semantic` keys, answers and embeds a questions file; a server that
// loads it answers each warmed question's first request from the cache (x-ringserve-cache: exact) with exactly
// what a server without it answers; a file made for another LLM, served id or embedding model, or damaged, is
// refused with one log line and the server serves without it. The demo model and a random tiny BERT on the CPU,
// requests over loopback HTTP.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <simdjson.h>

#include <filesystem>
#include <regex>

#include "cache/semantic_snapshot.h"
#include "core/api/api_routes.h"
#include "core/app/embedding_service.h"
#include "core/app/model_service.h"
#include "core/app/semantic_cache_file.h"
#include "core/app/warm_command.h"
#include "core/base/json_write.h"
#include "core/model/synth.h"
#include "tests/support/loopback_api.h"
#include "tests/support/test_files.h"

namespace rs::test {
namespace {

namespace fs = std::filesystem;

constexpr uint32_t kServerCtxSize = 256;

const std::string kQuestion = "What is the capital of France?";
// What a client sends for the shorthand {"question": kQuestion}.
const std::string kQuestionRequest =
    R"({"messages":[{"role":"user","content":"What is the capital of France?"}],"temperature":0})";
const std::string kSystemRequest = R"({"messages":[{"role":"system","content":"You answer in one short line."},)"
                                   R"({"role":"user","content":"Why is the sky blue?"}],"temperature":0,)"
                                   R"("max_tokens":8})";
const std::string kSeededRequest =
    R"({"messages":[{"role":"user","content":"Pick a word"}],"temperature":0.8,"seed":7,"max_tokens":6})";

std::string stop_request(std::string_view stop) {
  return R"({"messages":[{"role":"user","content":"Write a line"}],"temperature":0,"max_tokens":12,)"
         R"("ignore_eos":true)" + (stop.empty() ? std::string() : R"(,"stop":[)" + json::quote(stop) + "]") + "}";
}

// What a chat response says that the cache must not change, and whether the cache gave it.
struct SemanticAnswer {
  std::string content;
  std::string finish_reason;
  uint64_t completion_tokens = 0;
  std::string cache;  // x-ringserve-cache, "" for none
};

// The demo model and an embedding model served on loopback as serve wires them, the semantic cache filled from
// `semantic_cache_file` before the model is served; "" : no semantic cache. Its start-up log is kept.
class SemanticServer {
 public:
  SemanticServer(const std::string& embedding_model, const std::string& semantic_cache_file)
      : loopback_(api_options(semantic_cache_file)) {
    testing::internal::CaptureStderr();
    EmbeddingServiceOptions e;
    e.model = embedding_model;
    e.threads = 1;
    embeddings_ = std::make_unique<EmbeddingService>(e);
    api::SemanticCache* semantic = loopback_.api().serve_embeddings(embeddings_->serving());
    ModelServiceOptions o;
    o.threads = 1;
    o.ctx_size = kServerCtxSize;
    o.limits = {.max_batch_tokens = 256, .max_seqs = 8, .ctx_size = kServerCtxSize};
    service_ = std::make_unique<ModelService>(o);
    if (semantic != nullptr) {
      load_semantic_cache_file(semantic_cache_file, *semantic, service_->model_identity(), service_->serving().id,
                               embeddings_->identity());
    }
    log_ = testing::internal::GetCapturedStderr();
    loopback_.api().serve(service_->serving(), service_->engine());
  }
  ~SemanticServer() { loopback_.stop(); }  // so that no request reaches the models as they go

  const std::string& log() const { return log_; }
  const tokenizer::Tokenizer& tokenizer() const { return *service_->serving().tokenizer; }

  SemanticAnswer ask(const std::string& body) {
    const auto r = loopback_.post("/v1/chat/completions", body);
    EXPECT_TRUE(r && r->status == 200) << (r ? r->body : "no response");
    if (!r || r->status != 200) return {};
    simdjson::dom::parser parser;
    const simdjson::dom::element json = parser.parse(r->body);
    const simdjson::dom::element choice = json["choices"].at(0);
    return {std::string(std::string_view(choice["message"]["content"])),
            std::string(std::string_view(choice["finish_reason"])), uint64_t(json["usage"]["completion_tokens"]),
            r->header("x-ringserve-cache").value_or("")};
  }

 private:
  static api::ApiOptions api_options(const std::string& semantic_cache_file) {
    api::ApiOptions o;
    o.max_in_flight = 8;
    o.embedding_model = true;
    if (!semantic_cache_file.empty()) o.semantic_cache = cache::SemanticStoreOptions{.capacity = 64};
    return o;
  }

  LoopbackApi loopback_;
  std::unique_ptr<EmbeddingService> embeddings_;
  std::unique_ptr<ModelService> service_;
  std::string log_;
};

// Its UTF-8 characters' starts.
std::vector<size_t> character_starts(std::string_view text) {
  std::vector<size_t> starts;
  for (size_t i = 0; i < text.size(); ++i) {
    if ((static_cast<uint8_t>(text[i]) & 0xC0) != 0x80) starts.push_back(i);
  }
  return starts;
}

class SemanticCacheFile : public ScratchDirectoryTest {
 protected:
  SemanticCacheFile() : ScratchDirectoryTest("ringserve-semantic-cache-file") {}

  void SetUp() override {
    ScratchDirectoryTest::SetUp();
    synth_bert(0, path("bert.gguf"));
  }

  static void synth_bert(uint64_t seed, const std::string& output) {
    model::SynthOptions o;
    o.architecture = model::SynthArchitecture::bert;
    o.seed = seed;
    o.output = output;
    model::synth_model(o);
  }

  // Warms `lines` into `name` with the demo model and bert.gguf unless `o` names others.
  SemanticWarmResult warm_file(const std::string& name, const std::vector<std::string>& lines, WarmOptions o = {}) {
    std::string questions;
    for (const std::string& line : lines) questions += line + "\n";
    write_file(path("questions.jsonl"), questions);
    o.semantic = true;
    o.engine.threads = 1;
    if (o.engine.ctx_size == ModelEngineOptions{}.ctx_size) o.engine.ctx_size = kServerCtxSize;
    o.engine.limits.max_seqs = 1;
    if (o.embedding.model.empty()) o.embedding.model = path("bert.gguf");
    o.embedding.threads = 1;
    o.prompts = path("questions.jsonl");
    o.output = path(name);
    return warm_semantic(o);
  }
};

TEST_F(SemanticCacheFile, AWarmedServerAnswersAtOnceAndAsAColdOne) {
  std::vector<std::string> generated_requests = {kSystemRequest, kSeededRequest};
  std::vector<SemanticAnswer> cold;
  {
    SemanticServer server(path("bert.gguf"), "");
    const SemanticAnswer unstopped = server.ask(stop_request(""));
    // A stop string the greedy answer meets on the way: the character in its middle.
    const std::vector<size_t> starts = character_starts(unstopped.content);
    ASSERT_GE(starts.size(), 2u) << unstopped.content;
    const size_t middle = starts.size() / 2;
    const size_t end = middle + 1 < starts.size() ? starts[middle + 1] : unstopped.content.size();
    generated_requests.push_back(stop_request(unstopped.content.substr(starts[middle], end - starts[middle])));
    for (const std::string& request : generated_requests) cold.push_back(server.ask(request));
    EXPECT_EQ(cold[2].finish_reason, "stop");
    EXPECT_LT(cold[2].content.size(), unstopped.content.size());
  }
  const std::string given_request = R"({"messages":[{"role":"user","content":"Say hi"}],"temperature":0,)"
                                    R"("max_tokens":4})";
  std::vector<std::string> lines = {R"({"question":)" + json::quote(kQuestion) + R"(,"answer":"Paris."})",
                                    R"({"answer":"Hi there!",)" + given_request.substr(1)};
  lines.insert(lines.end(), generated_requests.begin(), generated_requests.end());
  const SemanticWarmResult warmed = warm_file("cache.rsc", lines);
  EXPECT_EQ(warmed.answers, 5u);
  EXPECT_EQ(warmed.generated, 3u);
  EXPECT_EQ(warmed.bytes, fs::file_size(path("cache.rsc")));

  SemanticServer warm(path("bert.gguf"), path("cache.rsc"));
  EXPECT_TRUE(std::regex_search(warm.log(), std::regex("semantic cache: 5 answers from " + path("cache.rsc") +
                                                       " in [0-9.]+ ms\n")))
      << warm.log();
  for (size_t i = 0; i < generated_requests.size(); ++i) {
    const SemanticAnswer a = warm.ask(generated_requests[i]);
    EXPECT_EQ(a.cache, "exact") << generated_requests[i];
    EXPECT_EQ(a.content, cold[i].content) << generated_requests[i];
    EXPECT_EQ(a.finish_reason, cold[i].finish_reason) << generated_requests[i];
    EXPECT_EQ(a.completion_tokens, cold[i].completion_tokens) << generated_requests[i];
  }
  const SemanticAnswer paris = warm.ask(kQuestionRequest);
  EXPECT_EQ(paris.cache, "exact");
  EXPECT_EQ(paris.content, "Paris.");
  EXPECT_EQ(paris.finish_reason, "stop");
  EXPECT_EQ(paris.completion_tokens, warm.tokenizer().encode("Paris.", false).size());
  const SemanticAnswer hi = warm.ask(given_request);
  EXPECT_EQ(hi.cache, "exact");
  EXPECT_EQ(hi.content, "Hi there!");
}

TEST_F(SemanticCacheFile, AFileThatDoesNotMatchOrIsDamagedIsRefusedAndTheServerServesWithoutIt) {
  const std::vector<std::string> lines = {R"({"question":)" + json::quote(kQuestion) + R"(,"answer":"Paris."})",
                                          kSystemRequest};
  warm_file("cache.rsc", lines);
  model::SynthOptions other_llm;  // the demo's shapes, other weights
  other_llm.seed = 1;
  other_llm.output = path("other.gguf");
  model::synth_model(other_llm);
  WarmOptions other_model, other_name, other_embedding;
  other_model.engine.model = path("other.gguf");
  other_model.model_name = std::string(kDemoModelId);  // the same id, other weights
  warm_file("other-model.rsc", lines, other_model);
  other_name.model_name = "my-model";
  warm_file("other-name.rsc", lines, other_name);
  synth_bert(1, path("other-bert.gguf"));
  other_embedding.embedding.model = path("other-bert.gguf");
  warm_file("other-embedding.rsc", lines, other_embedding);
  cache::SemanticSnapshot wider = cache::read_semantic_snapshot(path("cache.rsc"));
  const uint32_t dims = wider.header.dims;
  wider.header.dims = 2 * dims;
  for (cache::SemanticSnapshotEntry& e : wider.entries) e.vector.resize(2 * dims);
  cache::write_semantic_snapshot(path("dims.rsc"), wider.header, wider.entries);
  const std::string whole = file_bytes(path("cache.rsc"));
  write_file(path("truncated.rsc"), whole.substr(0, whole.size() - 20));

  const struct {
    std::string file;
    std::string reason;
  } cases[] = {
      {path("other-model.rsc"), "model identity 0x[0-9a-f]+ is another model's \\(this server's: 0x[0-9a-f]+\\)"},
      {path("other-name.rsc"),
       "model id \"my-model\" is not this server's \"" + std::string(kDemoModelId) + "\" \\(--model-name\\)"},
      {path("other-embedding.rsc"),
       "embedding model identity 0x[0-9a-f]+ is another embedding model's \\(this server's: 0x[0-9a-f]+\\)"},
      {path("dims.rsc"), fmt::format("dims {} are not this embedding model's {}", 2 * dims, dims)},
      {path("truncated.rsc"), "truncated[^\n]+ left before the checksum"},
      {flipped("cache.rsc", whole.size() - 9, "damaged.rsc"),  // the last byte before the checksum
       "checksum 0x[0-9a-f]+ is not the 0x[0-9a-f]+ of the file's bytes: the file is damaged"},
      {path("missing.rsc"), "cannot open: No such file or directory"},
  };
  for (const auto& c : cases) {
    SemanticServer server(path("bert.gguf"), c.file);
    EXPECT_TRUE(std::regex_search(server.log(), std::regex("WARN  semantic cache file refused: " + c.file + ": " +
                                                           c.reason + "; serving without it\n")))
        << server.log();
    const SemanticAnswer a = server.ask(kSystemRequest);
    EXPECT_EQ(a.cache, "") << c.file;
    EXPECT_EQ(server.ask(kSystemRequest).cache, "exact") << c.file;  // the cache itself works
  }
}

TEST_F(SemanticCacheFile, WarmNamesTheLineOfABadQuestion) {
  const auto warm_error = [&](const std::vector<std::string>& lines, WarmOptions o = {}) -> std::string {
    try {
      warm_file("bad.rsc", lines, o);
    } catch (const std::runtime_error& e) {
      return e.what();
    }
    return "warmed";
  };
  const std::string q = path("questions.jsonl");
  const std::string not_cacheable = ": the semantic cache passes this request by: it needs temperature 0 or a seed, "
                                    "one choice (n 1), no logprobs, a last message from the user, and no \"cache\": "
                                    "false";
  EXPECT_EQ(warm_error({R"({"question":"hi"})", "", R"({"messages":[{"role":"user","content":"hi"}]})"}),
            q + ":3" + not_cacheable);  // temperature 1 by default
  EXPECT_EQ(warm_error({R"({"messages":[{"role":"user","content":"hi"}],"temperature":0,"n":2})"}),
            q + ":1" + not_cacheable);
  EXPECT_EQ(warm_error({R"({"question":"hi there","answer":"a"})",
                        R"({"messages":[{"role":"user","content":"  hi   there "}],"temperature":0})"}),
            q + ":2: the same conversation and last user message as line 1: the cache keeps one answer for them");
  EXPECT_EQ(warm_error({R"({"question":"hi","max_tokens":3})"}),
            q + ":1: a {\"question\":…} line has nothing but \"answer\" beside it: \"max_tokens\" belongs in a "
                "request body with \"messages\" instead (max_tokens)");
  EXPECT_EQ(warm_error({R"({"question":"hi","answer":3})"}), q + ":1: \"answer\" must be a string (answer)");
  EXPECT_EQ(warm_error({R"({"messages":[{"role":"user","content":"hi"}],"temperature":0,"model":"gpt-4"})"}),
            q + ":1: the model `gpt-4` is not the `" + std::string(kDemoModelId) +
                "` being warmed (--model-name) (model)");
  EXPECT_EQ(warm_error({R"({"messages":"no","temperature":0})"}),
            q + ":1: \"messages\" must be a non-empty array of objects, got \"no\" (messages)");
  EXPECT_EQ(warm_error({"not json"}).substr(0, q.size() + 3), q + ":1:");
  std::string words;
  for (int i = 0; i < 200; ++i) words += "a ";
  WarmOptions long_context;
  long_context.engine.ctx_size = 1024;
  EXPECT_EQ(warm_error({R"({"question":")" + words + R"("})"}, long_context),
            q + ":1: the last user message is 202 tokens to the embedding model, which takes 1 to 128");
  EXPECT_FALSE(fs::exists(path("bad.rsc")));
}

}  // namespace
}  // namespace rs::test
