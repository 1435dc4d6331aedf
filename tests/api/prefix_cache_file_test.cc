// The prefix cache snapshot end to end: `warm` runs a prompts file and writes the blocks; a server started with
// --prefix-cache-file answers those prompts' first requests from the cache, with exactly the text and logprobs
// of a server without it; a file that does not match the model or flags, or is damaged, is refused with one
// log line and the server answers cold. The demo model on the CPU executor, requests over loopback HTTP.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <simdjson.h>

#include <filesystem>
#include <regex>

#include "cache/kv_snapshot.h"
#include "core/api/api_routes.h"
#include "core/app/model_service.h"
#include "core/app/prefix_cache_file.h"
#include "core/app/warm_command.h"
#include "core/model/synth.h"
#include "tests/support/loopback_api.h"
#include "tests/support/test_files.h"

namespace rs::test {
namespace {

namespace fs = std::filesystem;

constexpr uint32_t kCtxSize = 256;
constexpr uint32_t kBlockTokens = 16;

// The demo tokenizer gives BOS, ▁ and a token per byte: 73 tokens, 4 blocks cached (never the last token).
const std::string kStory = "The quick brown fox jumps over the lazy dog, again and again and again!!";
const std::string kChat = R"([{"role":"system","content":"You answer in one short sentence."},)"
                          R"({"role":"user","content":"Why is the sky blue?"}])";
const std::string kIds = "[1,40,41,42,43,44,45,46,47,48,49,50,51,52,53,54,55,56,57,58,59]";  // 21 ids: 1 block

const std::vector<std::string> kRequests = {
    R"({"prompt":")" + kStory + R"(","max_tokens":8,"temperature":0,"ignore_eos":true,"logprobs":2})",
    R"({"messages":)" + kChat + R"(,"max_tokens":8,"temperature":0,"ignore_eos":true,"logprobs":true,)"
    R"("top_logprobs":2})",
    R"({"prompt":)" + kIds + R"(,"max_tokens":8,"temperature":0,"ignore_eos":true,"logprobs":2})"};

// What a response says that a snapshot must not change (its choices: text, logprobs, finish reason), and how
// many of its prompt tokens the prefix cache gave.
struct Answer {
  std::string choices;
  uint64_t prompt_tokens = 0;
  uint64_t cached_tokens = 0;
};

// The demo model served on loopback as serve wires it, with its start-up log kept.
class TestServer {
 public:
  explicit TestServer(const ModelServiceOptions& options) : loopback_(api_options()) {
    testing::internal::CaptureStderr();
    service_ = std::make_unique<ModelService>(options);
    log_ = testing::internal::GetCapturedStderr();
    loopback_.api().serve(service_->serving(), service_->engine());
  }
  ~TestServer() { loopback_.stop(); }  // so that no request reaches the model as it goes

  const std::string& log() const { return log_; }

  Answer answer(const std::string& body) {
    const bool chat = body.starts_with(R"({"messages")");
    const auto r = loopback_.post(chat ? "/v1/chat/completions" : "/v1/completions", body);
    EXPECT_TRUE(r && r->status == 200) << (r ? r->body : "no response");
    if (!r) return {};
    simdjson::dom::parser parser;
    const simdjson::dom::element json = parser.parse(r->body);
    return {simdjson::minify(json["choices"]), uint64_t(json["usage"]["prompt_tokens"]),
            uint64_t(json["usage"]["prompt_tokens_details"]["cached_tokens"])};
  }

 private:
  static api::ApiOptions api_options() {
    api::ApiOptions o;
    o.max_in_flight = 8;
    return o;
  }

  LoopbackApi loopback_;
  std::unique_ptr<ModelService> service_;
  std::string log_;
};

class PrefixCacheFile : public ScratchDirectoryTest {
 protected:
  PrefixCacheFile() : ScratchDirectoryTest("ringserve-prefix-cache-file") {}

  // Warms the prompts of kRequests (or `lines`) into `name`.
  WarmResult warm_file(const std::string& name, WarmOptions o = {},
                       const std::vector<std::string>& lines = {'"' + kStory + '"', R"({"messages":)" + kChat + "}",
                                                                kIds}) {
    std::string prompts;
    for (const std::string& line : lines) prompts += line + "\n";
    write_file(path("prompts.jsonl"), prompts);
    o.engine.threads = 1;
    o.engine.ctx_size = kCtxSize;
    o.engine.limits.max_seqs = 1;
    o.engine.kv_for_max_seqs_only = true;
    o.prompts = path("prompts.jsonl");
    o.output = path(name);
    return warm(o);
  }

  static ModelServiceOptions serve_options(const std::string& prefix_cache_file = "") {
    ModelServiceOptions o;
    o.threads = 1;
    o.ctx_size = kCtxSize;
    o.limits = {.max_batch_tokens = 256, .max_seqs = 8, .ctx_size = kCtxSize};
    o.prefix_cache_file = prefix_cache_file;
    return o;
  }

  // What a server without a snapshot answers kRequests.
  std::vector<Answer> cold_answers() {
    TestServer cold(serve_options());
    std::vector<Answer> answers;
    for (const std::string& request : kRequests) answers.push_back(cold.answer(request));
    return answers;
  }
};

TEST_F(PrefixCacheFile, AWarmedServerHitsAtOnceAndAnswersAsAColdOne) {
  const WarmResult warmed = warm_file("cache.rkv");
  EXPECT_EQ(warmed.prompts, 3u);
  const std::vector<Answer> cold = cold_answers();
  uint32_t blocks = 0;
  for (const Answer& a : cold) blocks += uint32_t(a.prompt_tokens / kBlockTokens);
  EXPECT_EQ(warmed.blocks, blocks);  // every full block of every prompt, the last token's block too
  EXPECT_EQ(warmed.tokens, blocks * kBlockTokens);
  EXPECT_EQ(warmed.bytes, fs::file_size(path("cache.rkv")));

  TestServer warm(serve_options(path("cache.rkv")));
  const std::string loaded = fmt::format("prefix cache file {}: {} blocks \\({} tokens\\) loaded in", path("cache.rkv"),
                                         blocks, blocks * kBlockTokens);
  EXPECT_TRUE(std::regex_search(warm.log(), std::regex(loaded))) << warm.log();
  for (size_t i = 0; i < kRequests.size(); ++i) {
    const Answer a = warm.answer(kRequests[i]);
    EXPECT_EQ(cold[i].cached_tokens, 0u);
    EXPECT_GT(a.cached_tokens, 0u) << kRequests[i];
    EXPECT_EQ(a.cached_tokens, (a.prompt_tokens - 1) / kBlockTokens * kBlockTokens) << kRequests[i];
    EXPECT_EQ(a.choices, cold[i].choices) << kRequests[i];
  }
}

TEST_F(PrefixCacheFile, AFileThatDoesNotMatchOrIsDamagedIsRefusedAndTheServerAnswersCold) {
  warm_file("cache.rkv");
  const cache::KvSnapshot snapshot = cache::read_kv_snapshot(path("cache.rkv"));
  model::SynthOptions other;  // the demo's shapes, other weights
  other.seed = 1;
  other.output = path("other.gguf");
  model::synth_model(other);
  WarmOptions other_model, other_kv_type;
  other_model.engine.model = path("other.gguf");
  other_kv_type.engine.kv_type = "f32";
  warm_file("other-model.rkv", other_model);
  warm_file("f32.rkv", other_kv_type);
  const std::string whole = file_bytes(path("cache.rkv"));
  write_file(path("truncated.rkv"), whole.substr(0, whole.size() - 100));
  const size_t first_record = cache::kKvSnapshotHeaderBytes, first_tokens = first_record + 24;
  const size_t last_record = first_record + (snapshot.header.blocks - 1) * snapshot.header.record_bytes();

  const struct {
    std::string file;
    std::string reason;
  } cases[] = {
      {path("other-model.rkv"), "model identity 0x[0-9a-f]+ is another model's \\(this server's: 0x[0-9a-f]+\\)"},
      {path("f32.rkv"), "KV type f32 is not this server's --kv-type f16"},
      {path("truncated.rkv"), "truncated: [0-9]+ bytes, but [0-9]+ blocks of 4096 KV bytes from offset 4096 need more"},
      {flipped("cache.rkv", first_record + 1, "hash.rkv"),  // block 1's parent is now nowhere
       "block 1: parent 0x[0-9a-f]+ is neither the salt nor an earlier block's hash"},
      {flipped("cache.rkv", last_record + 7, "leaf-hash.rkv"),
       "block " + std::to_string(snapshot.header.blocks - 1) +
           ": chain hash 0x[0-9a-f]+ does not match its parent and token ids"},
      {flipped("cache.rkv", first_tokens + 4 * 5, "tokens.rkv"),
       "block 0: chain hash 0x[0-9a-f]+ does not match its parent and token ids"},
      {flipped("cache.rkv", snapshot.header.kv_offset + 100, "kv.rkv"),
       "block 0: KV bytes do not match their checksum"},
      {path("missing.rkv"), "cannot open: No such file or directory"},
  };
  const std::vector<Answer> cold = cold_answers();
  for (const auto& c : cases) {
    TestServer server(serve_options(c.file));
    EXPECT_TRUE(std::regex_search(server.log(), std::regex("WARN  prefix cache file refused: " + c.file + ": " +
                                                           c.reason + "; serving without it\n")))
        << server.log();
    const Answer a = server.answer(kRequests[0]);
    EXPECT_EQ(a.cached_tokens, 0u) << c.file;
    EXPECT_EQ(a.choices, cold[0].choices) << c.file;
  }
}

// A snapshot's blocks are ordinary cached blocks: those no prompt could reach, or that find no free block, are
// left out and counted; loaded twice, the second load finds them all cached; a request that needs the pool
// evicts them.
TEST_F(PrefixCacheFile, BlocksThatCannotBeUsedAreLeftOutAndCounted) {
  const std::string a(40, 'a'), b(40, 'b'), c(40, 'c');  // 42 tokens each: 2 blocks each
  warm_file("three.rkv", {}, {'"' + a + '"', '"' + b + '"', '"' + c + '"'});
  ModelEngineOptions o;
  o.threads = 1;
  o.ctx_size = 64;
  o.kv_cache_gib = 4.0 * 4096 / double(1ull << 30);  // 4 blocks of the demo's 4096 bytes: one 64-token context
  o.limits = {.max_batch_tokens = 64, .max_seqs = 1};
  ModelEngine small(o);
  ASSERT_EQ(small.kv_layout().block_bytes(), 4096u);
  testing::internal::CaptureStderr();
  const std::optional<PrefixCacheLoad> first = load_prefix_cache_file(small, path("three.rkv"));
  const std::optional<PrefixCacheLoad> again = load_prefix_cache_file(small, path("three.rkv"));
  const std::string log = testing::internal::GetCapturedStderr();
  ASSERT_TRUE(first && again) << log;
  EXPECT_EQ(first->blocks, 4u);
  EXPECT_EQ(first->tokens, 64u);
  EXPECT_EQ(first->no_room, 2u);  // c's first block finds no free block, so its second is not tried
  EXPECT_EQ(again->blocks, 0u);
  EXPECT_EQ(again->already_cached, 4u);
  EXPECT_NE(log.find("4 blocks (64 tokens) loaded in"), std::string::npos) << log;
  EXPECT_NE(log.find("; skipped, 2 with no free block in the KV cache"), std::string::npos) << log;

  engine::GenerationRequest request;
  request.id = 1;
  request.prompt = small.tokenizer().encode(c, true);
  request.sampling.temperature = 0;
  request.max_tokens = 4;
  EXPECT_EQ(small.engine().generate(request).size(), 4u);
  // Its 3 blocks from a pool of 4 cached blocks nobody holds.
  small.engine().between_steps([](engine::Scheduler& s) { EXPECT_EQ(s.kv_cache().evictions(), 3u); });

  o.ctx_size = 48;  // a prompt of at most 47 tokens takes at most 46 from the cache: 2 blocks
  o.kv_cache_gib = 0;
  o.limits.max_seqs = 8;  // room for all the blocks
  ModelEngine short_context(o);
  testing::internal::CaptureStderr();
  const std::optional<PrefixCacheLoad> clipped = load_prefix_cache_file(short_context, path("three.rkv"));
  testing::internal::GetCapturedStderr();
  ASSERT_TRUE(clipped);
  EXPECT_EQ(clipped->blocks, 6u);
  warm_file("long.rkv", {}, {'"' + std::string(60, 'x') + '"'});  // 62 tokens: 3 blocks
  testing::internal::CaptureStderr();
  const std::optional<PrefixCacheLoad> long_prompt = load_prefix_cache_file(short_context, path("long.rkv"));
  testing::internal::GetCapturedStderr();
  ASSERT_TRUE(long_prompt);
  EXPECT_EQ(long_prompt->blocks, 2u);
  EXPECT_EQ(long_prompt->beyond_context, 1u);
}

TEST_F(PrefixCacheFile, WarmNamesTheLineOfABadPrompt) {
  const auto warm_error = [&](const std::vector<std::string>& lines) -> std::string {
    try {
      warm_file("bad.rkv", {}, lines);
    } catch (const std::runtime_error& e) {
      return e.what();
    }
    return "warmed";
  };
  const std::string prompts = path("prompts.jsonl");
  EXPECT_EQ(warm_error({R"("fine")", "", R"({"messages":"no"})"}),
            prompts + ":3: \"messages\" must be a non-empty array of objects, got \"no\" (messages)");
  EXPECT_EQ(warm_error({R"({"messages":[{"role":"user","content":"x"}],"cache_salt":"t"})"}),
            prompts + ":1: cache_salt is not supported in a snapshot (cache_salt)");
  EXPECT_NE(warm_error({'"' + std::string(300, 'x') + '"'}).find(prompts + ":1: This model's maximum context length"),
            std::string::npos);
  EXPECT_EQ(warm_error({"not json"}).substr(0, prompts.size() + 3), prompts + ":1:");
  EXPECT_FALSE(fs::exists(path("bad.rkv")));
}

}  // namespace
}  // namespace rs::test
