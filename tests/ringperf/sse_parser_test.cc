#include "perf/ringperf/sse_parser.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace rs::ringperf {
namespace {

std::vector<std::string> events_of(const std::vector<std::string_view>& pieces, bool finish = false) {
  SseParser parser;
  std::vector<std::string> events;
  const auto collect = [&](std::string_view data) { events.emplace_back(data); };
  for (const std::string_view piece : pieces) parser.feed(piece, collect);
  if (finish) parser.finish(collect);
  return events;
}

TEST(SseParser, EventsEndAtAnEmptyLine) {
  EXPECT_EQ(events_of({"data: {\"a\":1}\n\ndata: [DONE]\n\n"}), (std::vector<std::string>{"{\"a\":1}", "[DONE]"}));
  EXPECT_EQ(events_of({"data: unfinished\n"}), std::vector<std::string>{});
}

TEST(SseParser, EverySplitOfTheBytesGivesTheSameEvents) {
  const std::string stream =
      "data: one\r\n\r\n: a comment\n\ndata:two\rdata: lines\r\revent: x\nid: 3\ndata: three\n\n";
  const std::vector<std::string> expected = {"one", "two\nlines", "three"};
  EXPECT_EQ(events_of({stream}), expected);
  for (size_t cut = 0; cut <= stream.size(); ++cut) {
    for (size_t second = cut; second <= stream.size(); second += 7) {
      const std::string_view all = stream;
      EXPECT_EQ(events_of({all.substr(0, cut), all.substr(cut, second - cut), all.substr(second)}), expected)
          << "cuts at " << cut << " and " << second;
    }
  }
}

TEST(SseParser, CrLfSplitBetweenReadsIsOneLineEnding) {
  // A \r at the end of one read and \n at the start of the next must not make an empty line.
  EXPECT_EQ(events_of({"data: a\r", "\ndata: b\r\n", "\r\n"}), std::vector<std::string>{"a\nb"});
}

TEST(SseParser, FinishHandsOverAnEventWithoutItsBlankLine) {
  EXPECT_EQ(events_of({"data: [DONE]\n"}, true), std::vector<std::string>{"[DONE]"});
  EXPECT_EQ(events_of({"data: [DONE]"}, true), std::vector<std::string>{"[DONE]"});
  EXPECT_EQ(events_of({": only a comment\n"}, true), std::vector<std::string>{});
}

}  // namespace
}  // namespace rs::ringperf
