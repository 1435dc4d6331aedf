#include "io/http_response.h"

#include <gtest/gtest.h>

#include "io/router.h"

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

TEST(Router, ExactPathsMethodsAndHead) {
  Router router;
  int called = 0;
  router.add(Method::get, "/health", [&](Request&, Reply) { ++called; });
  router.add(Method::post, "/v1/completions", [&](Request&, Reply) { ++called; });

  EXPECT_NE(router.find(Method::get, "/health").handler, nullptr);
  EXPECT_NE(router.find(Method::head, "/health").handler, nullptr);
  const auto missing = router.find(Method::get, "/healthz");
  EXPECT_EQ(missing.handler, nullptr);
  EXPECT_EQ(missing.status, 404);
  const auto wrong = router.find(Method::del, "/health");
  EXPECT_EQ(wrong.status, 405);
  EXPECT_EQ(wrong.allow, "GET, HEAD");
  EXPECT_EQ(router.find(Method::get, "/v1/completions").allow, "POST");
}

TEST(Router, WildcardRoutesTakeWhatHasNoExactRoute) {
  Router router;
  int exact = 0, any_model = 0, deeper = 0;
  router.add(Method::get, "/v1/models", [&](Request&, Reply) { ++exact; });
  router.add(Method::get, "/v1/models/*", [&](Request&, Reply) { ++any_model; });
  router.add(Method::get, "/v1/models/special/*", [&](Request&, Reply) { ++deeper; });
  EXPECT_EQ(router.find(Method::get, "/v1/models").handler, router.find(Method::get, "/v1/models").handler);
  EXPECT_NE(router.find(Method::get, "/v1/models/llama").handler, router.find(Method::get, "/v1/models").handler);
  EXPECT_NE(router.find(Method::get, "/v1/models/org/llama").handler, nullptr);  // ids may hold a slash
  EXPECT_NE(router.find(Method::get, "/v1/models/special/x").handler,
            router.find(Method::get, "/v1/models/llama").handler);  // the longest prefix wins
  EXPECT_EQ(router.find(Method::get, "/v1/modelsX").status, 404);
  EXPECT_EQ(router.find(Method::get, "/v2/models/llama").status, 404);
  EXPECT_EQ(router.find(Method::post, "/v1/models/llama").status, 405);
}

}  // namespace
}  // namespace rs::io
