#include "io/http_response.h"

#include <gtest/gtest.h>

#include "io/router.h"
#include "io/shard.h"

namespace rs::io {
namespace {

TEST(HttpResponse, HeadHasStatusFramingAndExtraHeaders) {
  const std::vector<Header> extra{{"Retry-After", "1"}};
  EXPECT_EQ(format_head({429, "application/json", &extra, Framing::content_length, 12, true,
                         "Sun, 22 Nov 2026 04:09:00 GMT"}),
            "HTTP/1.1 429 Too Many Requests\r\nServer: ringserve\r\n"
            "Date: Sun, 22 Nov 2026 04:09:00 GMT\r\nContent-Type: application/json\r\n"
            "Content-Length: 12\r\nRetry-After: 1\r\n\r\n");
  EXPECT_EQ(format_head({200, "text/event-stream", nullptr, Framing::chunked, 0, false, "D"}),
            "HTTP/1.1 200 OK\r\nServer: ringserve\r\nDate: D\r\n"
            "Content-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n"
            "Connection: close\r\n\r\n");
}

TEST(HttpResponse, ErrorBodyIsOpenAiShaped) {
  EXPECT_EQ(error_body(413, "body \"too\" large"),
            "{\"error\":{\"message\":\"body \\\"too\\\" large\",\"type\":\"invalid_request_error\","
            "\"param\":null,\"code\":413}}\n");
  EXPECT_NE(error_body(404, "x").find("\"type\":\"not_found_error\""), std::string::npos);
  EXPECT_NE(error_body(503, "x").find("\"type\":\"unavailable_error\""), std::string::npos);
  EXPECT_NE(error_body(500, "x").find("\"type\":\"server_error\""), std::string::npos);
  const Response r = error_response(408, "slow");
  EXPECT_EQ(r.status, 408);
  EXPECT_EQ(r.content_type, "application/json");
}

TEST(HttpResponse, SseEventSplitsLinesIntoDataFields) {
  EXPECT_EQ(sse_event("{\"x\":1}"), "data: {\"x\":1}\n\n");
  EXPECT_EQ(sse_event("a\nb"), "data: a\ndata: b\n\n");
  EXPECT_EQ(sse_event("[DONE]"), "data: [DONE]\n\n");
}

TEST(HttpResponse, ChunkPrefixIsHexSize) {
  EXPECT_EQ(chunk_prefix(1), "1\r\n");
  EXPECT_EQ(chunk_prefix(255), "ff\r\n");
  EXPECT_EQ(chunk_prefix(65536), "10000\r\n");
}

TEST(HttpResponse, HttpDateIsImfFixdate) {
  EXPECT_EQ(http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
  EXPECT_EQ(http_date(1795320540), "Sun, 22 Nov 2026 04:09:00 GMT");
}

TEST(HttpResponse, BytesViewsOwnedBorrowedAndShared) {
  static const char kStatic[] = "static";
  const Bytes borrowed = Bytes::borrowed(kStatic);
  EXPECT_EQ(borrowed.view().data(), kStatic);  // no copy
  auto shared = std::make_shared<const std::string>("shared");
  const Bytes s = Bytes::shared(shared);
  EXPECT_EQ(s.view().data(), shared->data());
  EXPECT_EQ(Bytes(std::string("owned")).view(), "owned");
  EXPECT_TRUE(Bytes().empty());
}

// Routes whose handlers record their name when called: which handler a lookup found, not just that it found one.
class RouterTest : public ::testing::Test {
 protected:
  void add(Method method, std::string path, std::string name) {
    router_.add(method, std::move(path), [this, name](Request&, Reply) { called_.push_back(name); });
  }
  // The name of the handler `find` gives, or "404" / "405 (Allow)" when it gives none.
  std::string route(Method method, std::string_view path) {
    const Router::Match match = router_.find(method, path);
    if (match.handler == nullptr) return match.status == 405 ? "405 (" + match.allow + ")" : std::to_string(match.status);
    Request request;
    (*match.handler)(request, Reply(shard_, 0, 0));  // these handlers never answer: the reply goes nowhere
    EXPECT_EQ(called_.size(), 1u);
    const std::string name = called_.empty() ? "" : called_.back();
    called_.clear();
    return name;
  }

  Router router_;
  ServerConfig config_;
  OutputBudget budget_{1};
  Shard shard_{0, config_, router_, budget_, -1, -1, IoBackend::epoll};  // not started: a Reply needs one to name
  std::vector<std::string> called_;
};

TEST_F(RouterTest, ExactPathsMethodsAndHead) {
  add(Method::get, "/health", "health");
  add(Method::post, "/v1/completions", "completions");
  EXPECT_EQ(route(Method::get, "/health"), "health");
  EXPECT_EQ(route(Method::head, "/health"), "health");  // HEAD runs GET's handler
  EXPECT_EQ(route(Method::post, "/v1/completions"), "completions");
  EXPECT_EQ(route(Method::get, "/healthz"), "404");
  EXPECT_EQ(route(Method::del, "/health"), "405 (GET, HEAD)");
  EXPECT_EQ(route(Method::get, "/v1/completions"), "405 (POST)");
}

TEST_F(RouterTest, WildcardRoutesTakeWhatHasNoExactRoute) {
  add(Method::get, "/v1/models", "list");
  add(Method::get, "/v1/models/*", "one");
  add(Method::get, "/v1/models/special/*", "special");
  EXPECT_EQ(route(Method::get, "/v1/models"), "list");
  EXPECT_EQ(route(Method::get, "/v1/models/llama"), "one");
  EXPECT_EQ(route(Method::get, "/v1/models/org/llama"), "one");  // ids may hold a slash
  EXPECT_EQ(route(Method::get, "/v1/models/special/x"), "special");  // the longest prefix wins
  EXPECT_EQ(route(Method::get, "/v1/modelsX"), "404");
  EXPECT_EQ(route(Method::get, "/v2/models/llama"), "404");
  EXPECT_EQ(route(Method::post, "/v1/models/llama"), "405 (GET, HEAD)");
}

}  // namespace
}  // namespace rs::io
