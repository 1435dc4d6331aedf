// The per-request arithmetic with made-up arrival times: exact, no sockets.
#include "perf/ringperf/stream_measurement.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "perf/ringperf/clock.h"
#include "perf/ringperf/http_response_parser.h"

namespace rs::ringperf {
namespace {

constexpr int64_t kSent = 5'000'000'000;  // an arbitrary clock reading

struct Arrival {
  int64_t after_ms;  // since the request was sent
  std::string bytes;
};

constexpr std::string_view kStreamHead =
    "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n";

std::string event(std::string_view data) {
  const std::string text = fmt::format("data: {}\n\n", data);
  return fmt::format("{:x}\r\n{}\r\n", text.size(), text);
}

std::string text_chunk(std::string_view text) {
  return event(fmt::format(R"({{"choices":[{{"index":0,"text":"{}","finish_reason":null}}]}})", text));
}

std::string usage_chunk(int prompt, int completion) {
  return event(
      fmt::format(R"({{"choices":[],"usage":{{"prompt_tokens":{},"completion_tokens":{}}}}})", prompt, completion));
}

const std::string kEnd = event("[DONE]") + "0\r\n\r\n";

RequestRecord measure(const std::vector<Arrival>& arrivals) {
  StreamChunkReader reader;
  StreamMeasurement measurement(reader);
  HttpResponseParser parser;
  measurement.start(7, kSent, 42);
  measurement.mark_sent(kSent);
  parser.reset(measurement);
  for (const Arrival& arrival : arrivals) {
    measurement.set_arrival(kSent + arrival.after_ms * kNsPerMs);
    EXPECT_TRUE(parser.feed(arrival.bytes)) << parser.error();
  }
  EXPECT_TRUE(measurement.done());
  return measurement.take();
}

TEST(StreamMeasurement, TimesEveryTokenFromTheRequestWrite) {
  const RequestRecord r = measure({{1, std::string(kStreamHead)},
                                   {50, text_chunk("Once")},
                                   {60, text_chunk(" upon")},
                                   {70, text_chunk(" a")},
                                   {80, text_chunk(" time")},
                                   {81, usage_chunk(12, 4) + kEnd}});
  ASSERT_TRUE(r.ok()) << r.error_detail;
  EXPECT_EQ(r.sequence, 7u);
  EXPECT_EQ(r.http_status, 200);
  EXPECT_DOUBLE_EQ(r.ttft_ms(), 50);
  EXPECT_EQ(r.itl_ms, (std::vector<float>{10, 10, 10}));
  EXPECT_DOUBLE_EQ(r.e2e_ms(), 81);
  EXPECT_DOUBLE_EQ(r.tpot_ms(), (81.0 - 50.0) / 3);
  EXPECT_DOUBLE_EQ(r.ntpot_ms(), 81.0 / 4);
  EXPECT_TRUE(r.usage_reported);
  EXPECT_EQ(r.prompt_tokens, 12);
  EXPECT_EQ(r.output_tokens, 4);
  EXPECT_EQ(r.text_chunks, 4);
}

TEST(StreamMeasurement, ChatRoleChunkWithEmptyContentIsNotTheFirstToken) {
  const std::string role = event(R"({"choices":[{"index":0,"delta":{"role":"assistant","content":""}}]})");
  const std::string token = event(R"({"choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":"stop"}]})");
  const RequestRecord r = measure({{2, std::string(kStreamHead) + role}, {30, token}, {31, usage_chunk(9, 1) + kEnd}});
  ASSERT_TRUE(r.ok()) << r.error_detail;
  EXPECT_DOUBLE_EQ(r.ttft_ms(), 30);
  EXPECT_TRUE(std::isnan(r.tpot_ms()));  // one token: no decode interval
  EXPECT_DOUBLE_EQ(r.ntpot_ms(), 31);
}

TEST(StreamMeasurement, ChunksArrivingTogetherHaveNoGapAndBytesMaySplitAnywhere) {
  const std::string body = text_chunk("a") + text_chunk("b");
  const std::string tail = usage_chunk(3, 3) + kEnd;
  const RequestRecord r = measure({{0, std::string(kStreamHead)},
                                   {20, body},
                                   {25, text_chunk("c").substr(0, 9)},
                                   {26, text_chunk("c").substr(9) + tail}});
  ASSERT_TRUE(r.ok()) << r.error_detail;
  EXPECT_DOUBLE_EQ(r.ttft_ms(), 20);
  EXPECT_EQ(r.itl_ms, (std::vector<float>{0, 6}));  // "c" completes at 26
}

TEST(StreamMeasurement, WithoutUsageTheChunksCountTheTokens) {
  const RequestRecord r =
      measure({{0, std::string(kStreamHead)}, {10, text_chunk("x")}, {20, text_chunk("y")}, {21, kEnd}});
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r.usage_reported);
  EXPECT_EQ(r.output_tokens, 2);
  EXPECT_EQ(r.prompt_tokens, 42);  // the workload's estimate
}

TEST(StreamMeasurement, ErrorStatusKeepsTheServersMessage) {
  const std::string body = R"({"error":{"message":"too many requests, retry","code":429}})";
  const RequestRecord r =
      measure({{3, fmt::format("HTTP/1.1 429 Too Many Requests\r\nContent-Length: {}\r\n\r\n{}", body.size(), body)}});
  EXPECT_EQ(r.error, ErrorKind::http_429);
  EXPECT_EQ(r.error_detail, "HTTP 429: too many requests, retry");
  EXPECT_TRUE(std::isnan(r.ttft_ms()));
  EXPECT_TRUE(std::isnan(r.e2e_ms()));
  EXPECT_EQ(error_kind_for_status(404), ErrorKind::http_4xx);
  EXPECT_EQ(error_kind_for_status(503), ErrorKind::http_5xx);
  EXPECT_EQ(error_kind_for_status(302), ErrorKind::http_other);
}

TEST(StreamMeasurement, BadStreamsAreMalformedOrStreamErrors) {
  EXPECT_EQ(measure({{0, std::string(kStreamHead) + text_chunk("a") + event("{not json") + kEnd}}).error,
            ErrorKind::malformed);
  EXPECT_EQ(measure({{0, std::string(kStreamHead) + event(R"({"error":{"message":"out of memory"}})") + kEnd}}).error,
            ErrorKind::stream_error);
  const std::string json = R"({"choices":[{"text":"not streamed"}]})";
  const RequestRecord plain =
      measure({{0, fmt::format("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{}", json.size(), json)}});
  EXPECT_EQ(plain.error, ErrorKind::malformed);
  EXPECT_NE(plain.error_detail.find("no SSE events"), std::string::npos) << plain.error_detail;
}

TEST(StreamMeasurement, AFailureEndsTheRequestAtItsTime) {
  StreamChunkReader reader;
  StreamMeasurement measurement(reader);
  measurement.start(1, kSent, 10);
  measurement.mark_sent(kSent);
  measurement.fail(ErrorKind::timeout, "no answer", kSent + 300 * kNsPerMs);
  ASSERT_TRUE(measurement.done());
  const RequestRecord r = measurement.take();
  EXPECT_EQ(r.error, ErrorKind::timeout);
  EXPECT_EQ(r.done_ns - r.sent_ns, 300 * kNsPerMs);
  EXPECT_TRUE(std::isnan(r.ntpot_ms()));
}

}  // namespace
}  // namespace rs::ringperf
