#include "io/connection.h"

#include <gtest/gtest.h>

namespace rs::io {
namespace {

using namespace std::chrono_literals;

class ConnectionTest : public ::testing::Test {
 protected:
  void make(ServerConfig config = {}) {
    config_ = std::move(config);
    connection_ = std::make_unique<Connection>(
        1, "peer", config_, metrics_, budget_, now_, date_,
        [this](Connection&, Exchange& e) { dispatched_.push_back(e.id); on_dispatch_(e); });
  }
  void receive(std::string_view bytes) { connection_->receive(bytes); }
  // Takes everything queued for the socket, as if sent in full.
  std::string drain_output() {
    std::string out;
    iovec iov[64];
    while (connection_->has_output()) {
      const size_t n = connection_->gather(iov, 64);
      size_t total = 0;
      for (size_t i = 0; i < n; ++i) {
        out.append(static_cast<const char*>(iov[i].iov_base), iov[i].iov_len);
        total += iov[i].iov_len;
      }
      connection_->sent(total);
    }
    return out;
  }
  static std::string ok(std::string_view body) {
    return "HTTP/1.1 200 OK\r\nServer: ringserve\r\nDate: D\r\nContent-Type: text/plain\r\n"
           "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + std::string(body);
  }
  static Response text(std::string body) {
    Response r;
    r.content_type = "text/plain";
    r.body = std::move(body);
    return r;
  }

  ServerConfig config_;
  HttpMetrics metrics_;
  OutputBudget budget_{200 * 1024};
  std::string date_ = "D";
  std::unique_ptr<Connection> connection_;
  std::vector<uint64_t> dispatched_;
  std::function<void(Exchange&)> on_dispatch_ = [](Exchange&) {};
  Clock::time_point now_ = Clock::now();
};

TEST_F(ConnectionTest, AnswersPipelinedRequestsInRequestOrder) {
  make();
  receive("GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\nGET /3 HTTP/1.1\r\n\r\n");
  ASSERT_EQ(dispatched_, (std::vector<uint64_t>{1, 2, 3}));
  connection_->respond(*connection_->find(3), text("three"));
  connection_->respond(*connection_->find(2), text("two"));
  EXPECT_EQ(drain_output(), "");  // the first request still holds the wire
  connection_->respond(*connection_->find(1), text("one"));
  EXPECT_EQ(drain_output(), ok("one") + ok("two") + ok("three"));
  EXPECT_TRUE(connection_->idle());
  EXPECT_EQ(metrics_.responses_by_status[200].value(), 3u);
}

TEST_F(ConnectionTest, StreamsChunksOfTheHeadExchangeImmediately) {
  make();
  receive("GET /s HTTP/1.1\r\n\r\n");
  Exchange& e = *connection_->find(1);
  connection_->stream_begin(e, {});
  EXPECT_TRUE(connection_->stream_write(e, sse_event("a")));
  EXPECT_EQ(drain_output(),
            "HTTP/1.1 200 OK\r\nServer: ringserve\r\nDate: D\r\nContent-Type: text/event-stream\r\n"
            "Transfer-Encoding: chunked\r\n\r\n9\r\ndata: a\n\n\r\n");
  EXPECT_TRUE(connection_->stream_write(e, Bytes::borrowed("xyz")));
  connection_->stream_end(e);
  EXPECT_EQ(drain_output(), "3\r\nxyz\r\n0\r\n\r\n");
  EXPECT_EQ(connection_->find(1), nullptr);  // finished: Reply calls after this do nothing
}

TEST_F(ConnectionTest, BodiesThatLiveInMemoryAreSentWithoutCopying) {
  make();
  static const std::string kBody(64 * 1024, 'b');
  receive("GET / HTTP/1.1\r\n\r\nGET /s HTTP/1.1\r\n\r\n");
  Response r;
  r.body = Bytes::borrowed(kBody);
  connection_->respond(*connection_->find(1), std::move(r));
  iovec iov[8];
  ASSERT_EQ(connection_->gather(iov, 8), 2u);
  EXPECT_EQ(iov[1].iov_base, kBody.data());  // the iovec points at the caller's bytes
  drain_output();
  auto shared = std::make_shared<const std::string>(8192, 's');
  Exchange& stream = *connection_->find(2);
  connection_->stream_begin(stream, {});
  drain_output();
  connection_->stream_write(stream, Bytes::shared(shared));
  ASSERT_EQ(connection_->gather(iov, 8), 3u);  // chunk size, data, CRLF
  EXPECT_EQ(iov[1].iov_base, shared->data());
}

TEST_F(ConnectionTest, SmallBodiesTravelInOneSegmentWithTheirFraming) {
  make();
  receive("GET / HTTP/1.1\r\n\r\n");
  connection_->respond(*connection_->find(1), text("small"));
  iovec iov[8];
  EXPECT_EQ(connection_->gather(iov, 8), 1u);
  EXPECT_EQ(drain_output(), ok("small"));
}

TEST_F(ConnectionTest, PartialSendsResumeWhereTheyStopped) {
  make();
  receive("GET / HTTP/1.1\r\n\r\n");
  connection_->respond(*connection_->find(1), text("hello"));
  const std::string expected = ok("hello");
  std::string out;
  iovec iov[8];
  while (connection_->has_output()) {  // the socket takes 7 bytes at a time
    connection_->gather(iov, 8);
    const size_t n = std::min<size_t>(7, iov[0].iov_len);
    out.append(static_cast<const char*>(iov[0].iov_base), n);
    connection_->sent(n);
  }
  EXPECT_EQ(out, expected);
  EXPECT_EQ(metrics_.bytes_sent.value(), expected.size());
}

TEST_F(ConnectionTest, HeadGetsGetHeadersWithoutBody) {
  make();
  receive("HEAD / HTTP/1.1\r\n\r\n");
  connection_->respond(*connection_->find(1), text("hello"));
  EXPECT_EQ(drain_output(), ok("hello").substr(0, ok("hello").size() - 5));
}

TEST_F(ConnectionTest, ConnectionCloseEndsReadingAfterThatRequest) {
  make();
  receive("GET /1 HTTP/1.1\r\nConnection: close\r\n\r\nGET /2 HTTP/1.1\r\n\r\n");
  EXPECT_EQ(dispatched_, (std::vector<uint64_t>{1}));
  connection_->respond(*connection_->find(1), text("x"));
  EXPECT_NE(drain_output().find("Connection: close\r\n"), std::string::npos);
  EXPECT_TRUE(connection_->done());
}

TEST_F(ConnectionTest, ParseErrorIsAnsweredAfterEarlierResponsesThenCloses) {
  make();
  receive("GET /1 HTTP/1.1\r\n\r\nBROKEN\r\n\r\n");
  EXPECT_EQ(dispatched_, (std::vector<uint64_t>{1}));
  EXPECT_FALSE(connection_->done());
  connection_->respond(*connection_->find(1), text("x"));
  const std::string out = drain_output();
  EXPECT_EQ(out.find(ok("x")), 0u);
  EXPECT_NE(out.find("HTTP/1.1 400 Bad Request\r\n"), std::string::npos);
  EXPECT_NE(out.find("Connection: close\r\n"), std::string::npos);
  EXPECT_TRUE(connection_->done());
}

TEST_F(ConnectionTest, ExpectContinueSendsInterimResponseBeforeBody) {
  make();
  receive("POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n");
  EXPECT_EQ(drain_output(), "HTTP/1.1 100 Continue\r\n\r\n");
  EXPECT_TRUE(dispatched_.empty());
  receive("abc");
  ASSERT_EQ(dispatched_.size(), 1u);
  EXPECT_EQ(connection_->find(1)->request.body, "abc");
}

TEST_F(ConnectionTest, FullPipelineStopsReadingAndResumesAsResponsesFinish) {
  ServerConfig config;
  config.max_pipeline = 2;
  make(config);
  receive("GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\nGET /3 HTTP/1.1\r\n\r\n");
  EXPECT_EQ(dispatched_, (std::vector<uint64_t>{1, 2}));
  EXPECT_FALSE(connection_->wants_input());
  receive("GET /4 HTTP/1.1\r\n\r\n");  // arrived while pausing: kept, in order
  connection_->respond(*connection_->find(1), text("1"));
  EXPECT_EQ(dispatched_, (std::vector<uint64_t>{1, 2, 3}));
  connection_->respond(*connection_->find(2), text("2"));
  EXPECT_EQ(dispatched_, (std::vector<uint64_t>{1, 2, 3, 4}));
  EXPECT_EQ(connection_->find(4)->request.target, "/4");
  EXPECT_FALSE(connection_->wants_input());  // 3 and 4 fill it again
  connection_->respond(*connection_->find(3), text("3"));
  EXPECT_TRUE(connection_->wants_input());
}

TEST_F(ConnectionTest, SlowHeadersTimeOutWith408) {
  ServerConfig config;
  config.header_timeout = 1s;
  make(config);
  receive("GET / HTTP/1.1\r\nHost:");
  now_ += 500ms;
  receive(" x\r\n");  // trickling bytes does not extend the deadline
  EXPECT_EQ(connection_->check_timeouts(), Connection::Timeout::none);
  now_ += 600ms;
  EXPECT_EQ(connection_->check_timeouts(), Connection::Timeout::request_timed_out);
  const std::string out = drain_output();
  EXPECT_EQ(out.find("HTTP/1.1 408 Request Timeout\r\n"), 0u);
  EXPECT_NE(out.find("--header-timeout"), std::string::npos);
  EXPECT_TRUE(connection_->done());
}

TEST_F(ConnectionTest, SlowBodyTimesOutWith408) {
  ServerConfig config;
  config.body_timeout = 2s;
  make(config);
  receive("POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc");
  now_ += 2100ms;
  EXPECT_EQ(connection_->check_timeouts(), Connection::Timeout::request_timed_out);
  EXPECT_NE(drain_output().find("--body-timeout"), std::string::npos);
}

TEST_F(ConnectionTest, IdleOnlyWhenNothingIsPending) {
  ServerConfig config;
  config.idle_timeout = 5s;
  make(config);
  receive("GET / HTTP/1.1\r\n\r\n");
  now_ += 10s;
  EXPECT_EQ(connection_->check_timeouts(), Connection::Timeout::none);  // awaiting a response
  connection_->respond(*connection_->find(1), text("x"));
  drain_output();
  now_ += 4s;
  EXPECT_EQ(connection_->check_timeouts(), Connection::Timeout::none);
  now_ += 2s;
  EXPECT_EQ(connection_->check_timeouts(), Connection::Timeout::idle);
}

TEST_F(ConnectionTest, DrainFinishesInFlightRequestsThenCloses) {
  make();
  receive("GET /1 HTTP/1.1\r\n\r\n");
  connection_->drain();
  EXPECT_FALSE(connection_->done());
  receive("GET /2 HTTP/1.1\r\n\r\n");  // not taken any more
  connection_->respond(*connection_->find(1), text("x"));
  const std::string out = drain_output();
  EXPECT_NE(out.find("Connection: close\r\n"), std::string::npos);
  EXPECT_EQ(dispatched_.size(), 1u);
  EXPECT_TRUE(connection_->done());
}

TEST_F(ConnectionTest, AbortTellsEveryUnfinishedExchange) {
  make();
  receive("GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\n");
  int aborted = 0;
  connection_->find(1)->on_abort = [&] { ++aborted; };
  connection_->find(2)->on_abort = [&] { ++aborted; };
  connection_->stream_begin(*connection_->find(1), {});
  connection_->abort();
  EXPECT_EQ(aborted, 2);
  EXPECT_EQ(connection_->find(1), nullptr);
}

TEST_F(ConnectionTest, SlowReaderIsCutOffAtMaxOutputBytes) {
  ServerConfig config;
  config.max_output_bytes = 1000;
  make(config);
  receive("GET / HTTP/1.1\r\n\r\n");
  Exchange& e = *connection_->find(1);
  connection_->stream_begin(e, {});
  int accepted = 0;
  while (connection_->stream_write(e, std::string(100, 'x'))) ++accepted;
  EXPECT_GE(accepted, 7);
  EXPECT_LE(accepted, 9);
  EXPECT_TRUE(connection_->broken());
}

TEST_F(ConnectionTest, OverCapacityConnectionGets503WithRetryAfter) {
  make();
  connection_->reject_over_capacity();
  receive("GET / HTTP/1.1\r\n\r\n");
  EXPECT_TRUE(dispatched_.empty());
  const std::string out = drain_output();
  EXPECT_EQ(out.find("HTTP/1.1 503 Service Unavailable\r\n"), 0u);
  EXPECT_NE(out.find("Retry-After: 1\r\n"), std::string::npos);
  EXPECT_TRUE(connection_->done());
}

TEST_F(ConnectionTest, SilentOverCapacityConnectionGetsOnlyTheHeaderTimeout) {
  ServerConfig config;
  config.header_timeout = 2s;
  config.idle_timeout = 60s;
  make(config);
  connection_->reject_over_capacity();
  now_ += 1s;
  EXPECT_EQ(connection_->check_timeouts(), Connection::Timeout::none);
  now_ += 2s;
  EXPECT_EQ(connection_->check_timeouts(), Connection::Timeout::request_timed_out);
  EXPECT_TRUE(connection_->done() || connection_->has_output());
}

TEST_F(ConnectionTest, Http10StreamIsDelimitedByClose) {
  make();
  receive("GET / HTTP/1.0\r\n\r\n");
  Exchange& e = *connection_->find(1);
  connection_->stream_begin(e, {});
  connection_->stream_write(e, Bytes::borrowed("data: a\n\n"));
  connection_->stream_end(e);
  const std::string out = drain_output();
  EXPECT_EQ(out.find("Transfer-Encoding"), std::string::npos);
  EXPECT_NE(out.find("Connection: close\r\n\r\ndata: a\n\n"), std::string::npos);
  EXPECT_TRUE(connection_->done());
}

TEST_F(ConnectionTest, EofCancelsWhatIsInFlight) {
  make();
  receive("GET /1 HTTP/1.1\r\n\r\nPOST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc");
  bool aborted = false;
  connection_->find(1)->on_abort = [&] { aborted = true; };
  connection_->receive_eof();
  EXPECT_TRUE(aborted);
  EXPECT_EQ(drain_output(), "");
  EXPECT_TRUE(connection_->done());
}

}  // namespace
}  // namespace rs::io

namespace rs::io {
namespace {

TEST_F(ConnectionTest, LargeResponsesPastTheSharedUnsentCapAre503) {
  make();
  HttpMetrics other_metrics;
  Connection other(2, "other", config_, other_metrics, budget_, now_, date_, [](Connection&, Exchange&) {});
  receive("GET /big HTTP/1.1\r\n\r\n");
  connection_->respond(*connection_->find(1), text(std::string(150 * 1024, 'a')));
  EXPECT_GT(budget_.used(), 150u * 1024);
  other.receive("GET /big HTTP/1.1\r\n\r\n");
  other.respond(*other.find(1), text(std::string(100 * 1024, 'b')));  // 250 KiB would pass the 200 KiB cap
  EXPECT_EQ(budget_.refusals(), 1u);
  EXPECT_LE(budget_.used(), budget_.cap());
  iovec iov[8];
  std::string out;
  for (size_t i = 0, n = other.gather(iov, 8); i < n; ++i) {
    out.append(static_cast<char*>(iov[i].iov_base), iov[i].iov_len);
  }
  EXPECT_EQ(out.find("HTTP/1.1 503 Service Unavailable\r\n"), 0u) << out.substr(0, 200);
  EXPECT_NE(out.find("Retry-After: 1\r\n"), std::string::npos);
  EXPECT_NE(out.find("--max-unsent-bytes"), std::string::npos);
  other.sent(out.size());
  // Sent bytes are given back: the next large response fits again.
  drain_output();
  EXPECT_EQ(budget_.used(), 0u);
  other.receive("GET /big HTTP/1.1\r\n\r\n");
  other.respond(*other.find(2), text(std::string(100 * 1024, 'b')));
  EXPECT_EQ(budget_.refusals(), 1u);
}

TEST_F(ConnectionTest, BytesStillQueuedAreGivenBackWhenTheConnectionGoes) {
  make();
  receive("GET / HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\n\r\n");
  connection_->respond(*connection_->find(2), text(std::string(70 * 1024, 'x')));  // early output, behind #1
  connection_->respond(*connection_->find(1), text("first"));
  EXPECT_GT(budget_.used(), 70u * 1024);
  connection_->abort();
  connection_.reset();
  EXPECT_EQ(budget_.used(), 0u);
}

TEST_F(ConnectionTest, StreamWritesStopAtTheSharedCap) {
  ServerConfig config;
  config.max_output_bytes = 1 << 30;  // only the shared cap applies
  make(config);
  receive("GET / HTTP/1.1\r\n\r\n");
  Exchange& e = *connection_->find(1);
  connection_->stream_begin(e, {});
  size_t written = 0;
  while (connection_->stream_write(e, std::string(10 * 1024, 'x'))) written += 10 * 1024;
  EXPECT_TRUE(connection_->broken());
  EXPECT_GT(written, 150u * 1024);
  EXPECT_LE(budget_.used(), budget_.cap());
}

TEST_F(ConnectionTest, OutputTheSocketDoesNotTakeTimesOut) {
  ServerConfig config;
  config.write_timeout = Seconds(5);
  make(config);
  receive("GET / HTTP/1.1\r\n\r\n");
  connection_->respond(*connection_->find(1), text(std::string(100 * 1024, 'x')));
  now_ += 4s;
  EXPECT_EQ(connection_->check_timeouts(), Connection::Timeout::none);
  connection_->sent(1);  // progress, however small, restarts the clock
  EXPECT_EQ(connection_->stalled_for(), Clock::duration::zero());
  now_ += 4s;
  EXPECT_EQ(connection_->check_timeouts(), Connection::Timeout::none);
  now_ += 2s;
  EXPECT_EQ(connection_->check_timeouts(), Connection::Timeout::write_stalled);
  EXPECT_EQ(connection_->stalled_for(), 6s);
}

TEST_F(ConnectionTest, AConnectionThatSendsNothingGets408AtTheHeaderTimeout) {
  ServerConfig config;
  config.header_timeout = Seconds(10);
  config.idle_timeout = Seconds(60);
  make(config);
  now_ += 9s;
  EXPECT_EQ(connection_->check_timeouts(), Connection::Timeout::none);
  receive("GET / HT");  // the clock still runs from accept
  now_ += 2s;
  EXPECT_EQ(connection_->check_timeouts(), Connection::Timeout::request_timed_out);
  EXPECT_EQ(drain_output().find("HTTP/1.1 408 Request Timeout\r\n"), 0u);

  make(config);
  now_ += 11s;
  EXPECT_EQ(connection_->check_timeouts(), Connection::Timeout::request_timed_out);
  const std::string out = drain_output();
  EXPECT_EQ(out.find("HTTP/1.1 408 Request Timeout\r\n"), 0u) << out;
  EXPECT_TRUE(connection_->done());
}

TEST_F(ConnectionTest, BetweenKeepAliveRequestsTheIdleTimeoutApplies) {
  ServerConfig config;
  config.header_timeout = Seconds(10);
  config.idle_timeout = Seconds(60);
  make(config);
  receive("GET / HTTP/1.1\r\n\r\n");
  connection_->respond(*connection_->find(1), text("ok"));
  drain_output();
  EXPECT_TRUE(connection_->idle_keep_alive());
  now_ += 30s;
  EXPECT_EQ(connection_->check_timeouts(), Connection::Timeout::none);
  receive("GET / HTTP/1.1\r\n");  // the next request's headers get --header-timeout from their first byte
  now_ += 11s;
  EXPECT_EQ(connection_->check_timeouts(), Connection::Timeout::request_timed_out);
}

TEST_F(ConnectionTest, CutEndsEveryUnfinishedResponse) {
  make();
  receive("GET /stream HTTP/1.1\r\n\r\nGET /slow HTTP/1.1\r\n\r\n");
  Exchange& stream = *connection_->find(1);
  connection_->stream_begin(stream, {});
  stream.on_cut = [this] {
    Exchange& e = *connection_->find(1);
    connection_->stream_write(e, sse_event("cut"));
    connection_->stream_end(e);
  };
  drain_output();
  EXPECT_EQ(connection_->cut(), 2u);
  const std::string out = drain_output();
  EXPECT_EQ(out.find("b\r\ndata: cut\n\n\r\n0\r\n\r\n"), 0u) << out;
  EXPECT_NE(out.find("HTTP/1.1 503 Service Unavailable\r\n"), std::string::npos) << out;
  EXPECT_NE(out.find("shutting down"), std::string::npos);
  EXPECT_TRUE(connection_->done());
}

// The timeouts on the shard's clock: exactly at each limit nothing happens, a tick past it the connection acts.
TEST_F(ConnectionTest, EachTimeoutActsJustPastItsLimitAndNotAtIt) {
  ServerConfig config;
  config.header_timeout = 10s;
  config.body_timeout = 20s;
  config.idle_timeout = 30s;
  config.write_timeout = 40s;
  const auto tick = std::chrono::nanoseconds(1);

  make(config);  // headers, from accept
  now_ += 10s;
  EXPECT_EQ(connection_->check_timeouts(), Connection::Timeout::none);
  now_ += tick;
  EXPECT_EQ(connection_->check_timeouts(), Connection::Timeout::request_timed_out);

  make(config);  // the body, from the end of the headers
  receive("POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nab");
  now_ += 20s;
  EXPECT_EQ(connection_->check_timeouts(), Connection::Timeout::none);
  now_ += tick;
  EXPECT_EQ(connection_->check_timeouts(), Connection::Timeout::request_timed_out);

  make(config);  // idle keep-alive, from the last response byte
  receive("GET / HTTP/1.1\r\n\r\n");
  connection_->respond(*connection_->find(1), text("ok"));
  drain_output();
  now_ += 30s;
  EXPECT_EQ(connection_->check_timeouts(), Connection::Timeout::none);
  now_ += tick;
  EXPECT_EQ(connection_->check_timeouts(), Connection::Timeout::idle);

  make(config);  // output the socket does not take
  receive("GET / HTTP/1.1\r\n\r\n");
  connection_->respond(*connection_->find(1), text("waiting"));
  now_ += 40s;
  EXPECT_EQ(connection_->check_timeouts(), Connection::Timeout::none);
  now_ += tick;
  EXPECT_EQ(connection_->check_timeouts(), Connection::Timeout::write_stalled);
}

TEST_F(ConnectionTest, AStreamMayHoldExactlyMaxOutputBytesAndNotOneMore) {
  ServerConfig config;
  config.max_output_bytes = 4096;
  make(config);
  receive("GET / HTTP/1.1\r\n\r\n");
  Exchange& e = *connection_->find(1);
  connection_->stream_begin(e, {});
  const size_t head = drain_output().size();
  ASSERT_GT(head, 0u);
  // The check counts what is already unsent (framing included) plus the new payload: 4096 fit an empty buffer.
  EXPECT_TRUE(connection_->stream_write(e, std::string(4096, 'x')));
  EXPECT_FALSE(connection_->broken());
  EXPECT_FALSE(connection_->stream_write(e, std::string(1, 'x')));
  EXPECT_TRUE(connection_->broken());
}

// A method the router does not know closes the connection after its answer: what follows it on the wire is
// not read as a request (it may have been meant as the unknown method's body).
TEST_F(ConnectionTest, AnUnknownMethodOnKeepAliveIsAnsweredThenTheConnectionCloses) {
  make();
  on_dispatch_ = [this](Exchange& e) { connection_->respond(e, error_response(405, "no")); };
  receive("PROPFIND / HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\n\r\n");
  EXPECT_EQ(dispatched_, (std::vector<uint64_t>{1}));
  const std::string out = drain_output();
  EXPECT_EQ(out.find("HTTP/1.1 405 "), 0u);
  EXPECT_NE(out.find("Connection: close\r\n"), std::string::npos);
  EXPECT_TRUE(connection_->done());
  // A known method the route lacks keeps the connection.
  make();
  dispatched_.clear();
  receive("DELETE / HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\n\r\n");
  EXPECT_EQ(dispatched_, (std::vector<uint64_t>{1, 2}));
  EXPECT_FALSE(connection_->done());
}

TEST_F(ConnectionTest, CorsOriginGoesOnEveryResponse) {
  ServerConfig config;
  config.cors_origin = "https://app.example";
  make(config);
  receive("GET / HTTP/1.1\r\n\r\n");
  connection_->respond(*connection_->find(1), error_response(404, "x"));
  const std::string out = drain_output();
  EXPECT_NE(out.find("\r\nAccess-Control-Allow-Origin: https://app.example\r\nVary: Origin\r\n"),
            std::string::npos) << out;
}

}  // namespace
}  // namespace rs::io
