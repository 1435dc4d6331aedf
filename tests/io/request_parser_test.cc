#include "io/request_parser.h"

#include "io/http_response.h"

#include <gtest/gtest.h>

namespace rs::io {
namespace {

using Event = RequestParser::Event;

TEST(RequestParser, ParsesRequestLineHeadersAndBody) {
  RequestParser parser({});
  const std::string wire =
      "POST /v1/completions?stream=1 HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "content-length: 7\r\n\r\n{\"a\":1}";
  const auto result = parser.feed(wire);
  EXPECT_EQ(result.event, Event::request);
  EXPECT_EQ(result.consumed, wire.size());
  EXPECT_TRUE(parser.take_head());
  const Request r = parser.take_request();
  EXPECT_EQ(r.method, Method::post);
  EXPECT_EQ(r.method_text, "POST");
  EXPECT_EQ(r.path(), "/v1/completions");
  EXPECT_EQ(r.query(), "stream=1");
  EXPECT_EQ(r.header("CONTENT-TYPE"), "application/json");
  EXPECT_EQ(r.header("Content-Length"), "7");
  EXPECT_FALSE(r.header("Accept").has_value());
  EXPECT_EQ(r.body, "{\"a\":1}");
  EXPECT_TRUE(r.keep_alive);
}

TEST(RequestParser, StopsAfterEachPipelinedRequest) {
  RequestParser parser({});
  const std::string first = "GET /a HTTP/1.1\r\nHost: x\r\n\r\n";
  const std::string second = "GET /b HTTP/1.1\r\nHost: x\r\n\r\n";
  std::string_view wire_view;
  const std::string wire = first + second;
  wire_view = wire;
  auto result = parser.feed(wire_view);
  EXPECT_EQ(result.event, Event::request);
  EXPECT_EQ(result.consumed, first.size());
  EXPECT_EQ(parser.take_request().target, "/a");
  wire_view.remove_prefix(result.consumed);
  result = parser.feed(wire_view);
  EXPECT_EQ(result.event, Event::request);
  EXPECT_EQ(result.consumed, second.size());
  EXPECT_EQ(parser.take_request().target, "/b");
}

TEST(RequestParser, AcceptsOneByteAtATime) {
  RequestParser parser({});
  const std::string wire = "PUT /x HTTP/1.1\r\nHost: y\r\nContent-Length: 3\r\n\r\nabc";
  for (size_t i = 0; i + 1 < wire.size(); ++i) {
    const auto result = parser.feed(std::string_view(wire).substr(i, 1));
    ASSERT_EQ(result.event, Event::need_more) << "at byte " << i;
    ASSERT_EQ(result.consumed, 1u);
  }
  EXPECT_EQ(parser.feed(wire.substr(wire.size() - 1)).event, Event::request);
  const Request r = parser.take_request();
  EXPECT_EQ(r.method, Method::put);
  EXPECT_EQ(r.header("host"), "y");
  EXPECT_EQ(r.body, "abc");
}

TEST(RequestParser, DecodesChunkedBody) {
  RequestParser parser({});
  const std::string wire =
      "POST /e HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\n\r\n";
  EXPECT_EQ(parser.feed(wire).event, Event::request);
  EXPECT_EQ(parser.take_request().body, "hello, world");
}

TEST(RequestParser, HeaderBlockOverLimitIs431) {
  RequestParser parser({.max_header_bytes = 256, .max_body_bytes = 1024});
  const std::string wire = "GET / HTTP/1.1\r\nX-Big: " + std::string(300, 'a') + "\r\n\r\n";
  EXPECT_EQ(parser.feed(wire).event, Event::error);
  EXPECT_EQ(parser.error_status(), 431);
}

// Every limit exactly at the limit and one past it. The head counts the method, the target, and each header's
// name, value and 4 bytes of framing (": ", CRLF).
TEST(RequestParser, HeadBytesExactlyAtTheLimitPassAndOneMoreIs431) {
  constexpr size_t kLimit = 256;
  const size_t framing = 3 + 1 + 4 + 1;  // "GET", "/", one header's framing, "X"
  const auto head_with_value = [&](size_t value_bytes) {
    return "GET / HTTP/1.1\r\nX: " + std::string(value_bytes, 'v') + "\r\n\r\n";
  };
  RequestParser at_limit({.max_header_bytes = kLimit, .max_body_bytes = 1024});
  EXPECT_EQ(at_limit.feed(head_with_value(kLimit - framing)).event, Event::request);
  RequestParser past_limit({.max_header_bytes = kLimit, .max_body_bytes = 1024});
  EXPECT_EQ(past_limit.feed(head_with_value(kLimit - framing + 1)).event, Event::error);
  EXPECT_EQ(past_limit.error_status(), 431);
}

TEST(RequestParser, BodiesExactlyAtTheLimitPassAndOneMoreByteIs413) {
  for (const bool chunked : {false, true}) {
    for (const size_t bytes : {size_t(10), size_t(11)}) {
      RequestParser parser({.max_header_bytes = 1024, .max_body_bytes = 10});
      std::string wire = "POST / HTTP/1.1\r\n";
      if (chunked) {
        wire += "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n" + chunk_prefix(bytes - 3) +
                std::string(bytes - 3, 'x') + "\r\n0\r\n\r\n";
      } else {
        wire += "Content-Length: " + std::to_string(bytes) + "\r\n\r\n" + std::string(bytes, 'x');
      }
      const auto result = parser.feed(wire);
      if (bytes == 10) {
        ASSERT_EQ(result.event, Event::request) << "chunked " << chunked;
        EXPECT_EQ(parser.take_request().body.size(), 10u);
      } else {
        EXPECT_EQ(result.event, Event::error) << "chunked " << chunked;
        EXPECT_EQ(parser.error_status(), 413) << "chunked " << chunked;
      }
    }
  }
}

TEST(RequestParser, ManySmallHeadersCountTowardTheLimit) {
  RequestParser parser({.max_header_bytes = 256, .max_body_bytes = 1024});
  std::string wire = "GET / HTTP/1.1\r\n";
  for (int i = 0; i < 100; ++i) wire += "a:\r\n";
  EXPECT_EQ(parser.feed(wire + "\r\n").event, Event::error);
  EXPECT_EQ(parser.error_status(), 431);
}

TEST(RequestParser, DeclaredBodyOverLimitIs413BeforeAnyBodyByte) {
  RequestParser parser({.max_header_bytes = 1024, .max_body_bytes = 10});
  EXPECT_EQ(parser.feed("POST / HTTP/1.1\r\nContent-Length: 11\r\n\r\n").event, Event::error);
  EXPECT_EQ(parser.error_status(), 413);
  EXPECT_NE(parser.error_message().find("11 bytes"), std::string::npos);
}

TEST(RequestParser, ChunkedBodyOverLimitIs413) {
  RequestParser parser({.max_header_bytes = 1024, .max_body_bytes = 10});
  EXPECT_EQ(parser.feed("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n12345678\r\n")
                .event,
            Event::need_more);
  EXPECT_EQ(parser.feed("8\r\n12345678\r\n").event, Event::error);
  EXPECT_EQ(parser.error_status(), 413);
}

TEST(RequestParser, AChunkDeclaredPastTheLimitIs413BeforeItsBytes) {
  RequestParser parser({.max_header_bytes = 1024, .max_body_bytes = 10});
  EXPECT_EQ(parser.feed("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n1234\r\n").event,
            Event::need_more);
  EXPECT_EQ(parser.feed("7\r\n").event, Event::error);  // 4 + 7 > 10, said in the size line alone
  EXPECT_EQ(parser.error_status(), 413);
  EXPECT_NE(parser.error_message().find("a chunk of 7 bytes"), std::string::npos) << parser.error_message();
}

// Request smuggling: framing that a proxy in front of us could read differently is refused.
TEST(RequestParser, WhitespaceBeforeAHeaderColonIs400) {
  for (const char* wire : {"GET / HTTP/1.1\r\nHost : x\r\n\r\n", "GET / HTTP/1.1\r\nHost\t: x\r\n\r\n",
                           "POST / HTTP/1.1\r\nContent-Length : 3\r\n\r\nabc"}) {
    RequestParser parser({});
    EXPECT_EQ(parser.feed(wire).event, Event::error) << wire;
    EXPECT_EQ(parser.error_status(), 400) << wire;
  }
}

TEST(RequestParser, TransferCodingsOtherThanChunkedAloneAre501) {
  for (const char* coding : {"gzip, chunked", "gzip", "identity", "chunked, chunked"}) {
    RequestParser parser({});
    const std::string wire = std::string("POST / HTTP/1.1\r\nTransfer-Encoding: ") + coding + "\r\n\r\n";
    EXPECT_EQ(parser.feed(wire).event, Event::error) << coding;
    EXPECT_TRUE(parser.error_status() == 501 || parser.error_status() == 400) << coding << ": "
                                                                               << parser.error_status();
  }
  RequestParser gzip({});
  EXPECT_EQ(gzip.feed("POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n").event, Event::error);
  EXPECT_EQ(gzip.error_status(), 501);
  EXPECT_NE(gzip.error_message().find("'gzip, chunked' is not supported"), std::string::npos);
  RequestParser upper_case({});
  EXPECT_EQ(upper_case.feed("POST / HTTP/1.1\r\nTransfer-Encoding: CHUNKED\r\n\r\n0\r\n\r\n").event,
            Event::request);
}

TEST(RequestParser, ContentLengthWithTransferEncodingIs400) {
  RequestParser parser({});
  EXPECT_EQ(parser.feed("POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
                        "0\r\n\r\n").event,
            Event::error);
  EXPECT_EQ(parser.error_status(), 400);
}

TEST(RequestParser, ExpectContinueIsReportedAndOtherExpectationsAre417) {
  RequestParser parser({});
  EXPECT_EQ(parser.feed("POST / HTTP/1.1\r\nExpect: 100-Continue\r\nContent-Length: 2\r\n\r\n")
                .event,
            Event::need_more);
  EXPECT_TRUE(parser.take_head());
  EXPECT_TRUE(parser.expects_continue());
  EXPECT_TRUE(parser.reading_body());

  RequestParser other({});
  EXPECT_EQ(other.feed("POST / HTTP/1.1\r\nExpect: something\r\n\r\n").event, Event::error);
  EXPECT_EQ(other.error_status(), 417);
}

TEST(RequestParser, MalformedRequestsAre400AndStayFailed) {
  for (const char* wire : {"HELLO\r\n\r\n", "GET / HTTP/1.1\r\nBad Header\r\n\r\n",
                           "GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n",
                           "GET / HTTP/9.9\r\n\r\n",
                           "POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"}) {
    RequestParser parser({});
    EXPECT_EQ(parser.feed(wire).event, Event::error) << wire;
    EXPECT_EQ(parser.error_status(), 400) << wire;
    EXPECT_NE(parser.error_message().find("malformed"), std::string::npos);
    EXPECT_EQ(parser.feed("GET / HTTP/1.1\r\n\r\n").event, Event::error);
  }
}

TEST(RequestParser, KeepAliveFollowsVersionAndConnectionHeader) {
  const auto keep_alive = [](const char* wire) {
    RequestParser parser({});
    EXPECT_EQ(parser.feed(wire).event, Event::request) << wire;
    return parser.take_request().keep_alive;
  };
  EXPECT_TRUE(keep_alive("GET / HTTP/1.1\r\n\r\n"));
  EXPECT_FALSE(keep_alive("GET / HTTP/1.1\r\nConnection: close\r\n\r\n"));
  EXPECT_FALSE(keep_alive("GET / HTTP/1.0\r\n\r\n"));
  EXPECT_TRUE(keep_alive("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
}

}  // namespace
}  // namespace rs::io
