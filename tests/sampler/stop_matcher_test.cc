// Stop strings on streamed text: held-back prefixes, matches across chunks,
// overlapping candidates, UTF-8, and the same result however the text is split.
#include "core/sampler/stop_matcher.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

namespace rs::sampler {
namespace {

struct Streamed {
  std::vector<std::string> emits;  // one per push, then finish()'s when not stopped
  bool stopped = false;
  std::string text() const {
    std::string all;
    for (const std::string& e : emits) all += e;
    return all;
  }
};

Streamed stream(const std::vector<std::string>& stops, const std::vector<std::string>& chunks) {
  StopMatcher matcher(stops);
  Streamed out;
  for (const std::string& chunk : chunks) {
    StopOutput o = matcher.push(chunk);
    out.emits.push_back(std::move(o.emit));
    if (o.stopped) {
      out.stopped = true;
      return out;
    }
  }
  out.emits.push_back(matcher.finish());
  return out;
}

// Each byte its own chunk, or each character when `by_character`.
std::vector<std::string> pieces(const std::string& text, bool by_character) {
  std::vector<std::string> chunks;
  for (size_t i = 0; i < text.size(); ++i) {
    if (by_character && (uint8_t(text[i]) & 0xC0) == 0x80) {
      chunks.back() += text[i];
    } else {
      chunks.emplace_back(1, text[i]);
    }
  }
  return chunks;
}

// Whether `text` starts and ends on character boundaries.
bool whole_characters(const std::string& text) {
  if (text.empty()) return true;
  if ((uint8_t(text.front()) & 0xC0) == 0x80) return false;
  size_t lead = text.size() - 1;
  while (lead > 0 && (uint8_t(text[lead]) & 0xC0) == 0x80) --lead;
  const uint8_t c = text[lead];
  const size_t length = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
  return lead + length == text.size();
}

TEST(StopMatcher, WithoutStopStringsEverythingGoesOutAtOnce) {
  const Streamed s = stream({}, {"Hello", ", world"});
  EXPECT_EQ(s.emits, (std::vector<std::string>{"Hello", ", world", ""}));
  EXPECT_FALSE(s.stopped);
}

TEST(StopMatcher, TextThatCannotStartAStopGoesOutAtOnce) {
  const Streamed s = stream({"STOP"}, {"Hello", " wor", "ld"});
  EXPECT_EQ(s.emits, (std::vector<std::string>{"Hello", " wor", "ld", ""}));
}

TEST(StopMatcher, AStopInOneChunk) {
  const Streamed s = stream({"STOP"}, {"Hello STOP and more", "never seen"});
  EXPECT_EQ(s.emits, (std::vector<std::string>{"Hello "}));
  EXPECT_TRUE(s.stopped);
}

TEST(StopMatcher, AStopSplitAcrossChunks) {
  const Streamed s = stream({"STOP"}, {"Hello S", "T", "OP after"});
  EXPECT_EQ(s.emits, (std::vector<std::string>{"Hello ", "", ""}));
  EXPECT_TRUE(s.stopped);
}

TEST(StopMatcher, APrefixThatDoesNotCompleteGoesOut) {
  const Streamed s = stream({"STOP"}, {"Hello ST", "ART"});
  EXPECT_EQ(s.emits, (std::vector<std::string>{"Hello ", "START", ""}));
  EXPECT_FALSE(s.stopped);
}

TEST(StopMatcher, FinishFlushesHeldText) {
  const Streamed s = stream({"</answer>"}, {"42 </ans"});
  EXPECT_EQ(s.emits, (std::vector<std::string>{"42 ", "</ans"}));
  EXPECT_FALSE(s.stopped);
}

TEST(StopMatcher, OverlappingStopStrings) {
  // "ab" completes first, so "abc" never gets the chance.
  EXPECT_EQ(stream({"abc", "ab"}, {"xab"}).text(), "x");
  EXPECT_EQ(stream({"abc", "ab"}, {"xa", "bc"}).text(), "x");
  // "abc" is held as a prefix until "bd" completes inside it.
  const Streamed s = stream({"abc", "bd"}, {"a", "b", "d"});
  EXPECT_EQ(s.emits, (std::vector<std::string>{"", "", "a"}));
  EXPECT_TRUE(s.stopped);
}

TEST(StopMatcher, ARepeatedLetterPrefix) {
  // "aab" in "aaab": the match starts at the second 'a'.
  EXPECT_EQ(stream({"aab"}, {"aaab"}).text(), "a");
  const Streamed s = stream({"aab"}, {"a", "a", "a", "b"});
  EXPECT_EQ(s.emits, (std::vector<std::string>{"", "", "a", ""}));
  EXPECT_TRUE(s.stopped);
  // Held back "aa" goes out once it cannot start "aab".
  EXPECT_EQ(stream({"aab"}, {"aa", "c"}).emits, (std::vector<std::string>{"", "aac", ""}));
}

TEST(StopMatcher, SeveralStopStringsTheFirstToCompleteWins) {
  StopMatcher matcher({"User:", "\n\n", "###"});
  EXPECT_EQ(matcher.push("Answer.").emit, "Answer.");
  const StopOutput o = matcher.push("\n\nUser: hi");
  EXPECT_EQ(o.emit, "");
  EXPECT_TRUE(o.stopped);
  EXPECT_EQ(matcher.matched(), "\n\n");
  // Completing first beats starting first: "bc" completes inside "abcd".
  StopMatcher inner({"abcd", "bc"});
  EXPECT_EQ(inner.push("xabcd").emit, "xa");
  EXPECT_EQ(inner.matched(), "bc");
  // Completing together, the longer (earlier starting) one wins.
  StopMatcher together({"cd", "bcd"});
  EXPECT_EQ(together.push("abcd").emit, "a");
  EXPECT_EQ(together.matched(), "bcd");
}

TEST(StopMatcher, NothingAfterAStop) {
  StopMatcher matcher({"END"});
  EXPECT_TRUE(matcher.push("x END y").stopped);
  const StopOutput later = matcher.push("more text");
  EXPECT_EQ(later.emit, "");
  EXPECT_TRUE(later.stopped);
  EXPECT_EQ(matcher.finish(), "");
  EXPECT_EQ(matcher.matched(), "END");
}

TEST(StopMatcher, EmptyStopStringsAreIgnored) {
  EXPECT_EQ(stream({""}, {"abc"}).emits, (std::vector<std::string>{"abc", ""}));
}

TEST(StopMatcher, UTF8StopStrings) {
  // "。" is E3 80 82; "停止" is E5 81 9C E6 AD A2.
  EXPECT_EQ(stream({"停止"}, {"好的。停", "止吧"}).text(), "好的。");
  const Streamed s = stream({"。"}, {"好", "的。", "再见"});
  EXPECT_EQ(s.emits, (std::vector<std::string>{"好", "的"}));
  EXPECT_TRUE(s.stopped);
  // Matches and held-back text start on characters, even for a stop string
  // that is not UTF-8: "停" is E5 81 9C.
  EXPECT_EQ(stream({"\x81\x9c"}, {"停"}).emits, (std::vector<std::string>{"停", ""}));
  EXPECT_EQ(stream({"\x9c!"}, {"停"}).emits, (std::vector<std::string>{"停", ""}));
}

TEST(StopMatcher, NeverSplitsACharacter) {
  // A chunk ending inside a character holds its start back, stop strings or not.
  EXPECT_EQ(stream({}, {"a\xe4\xb8", "\x96" "b"}).emits, (std::vector<std::string>{"a", "世b", ""}));
  const std::string text = "héllo 世界 🎉 stop ünïcödé";
  using Stops = std::vector<std::string>;
  for (const Stops& stops : {Stops{"世界!"}, Stops{"🎉!", "ü"}, Stops{"é", "x"}, Stops{}}) {
    // By character, and by byte: a chunk that ends inside a character holds it back.
    for (const bool by_character : {true, false}) {
      const Streamed s = stream(stops, pieces(text, by_character));
      for (const std::string& emit : s.emits) EXPECT_TRUE(whole_characters(emit)) << emit;
    }
  }
}

TEST(StopMatcher, HeldTextIsBoundedByTheLongestStopString) {
  StopMatcher matcher({"abcdef", "xy"});
  std::string pushed, sent;
  for (const char c : std::string("abcdeabcdeabcdeabcde")) {
    pushed += c;
    sent += matcher.push(std::string(1, c)).emit;
    EXPECT_LE(pushed.size() - sent.size(), 5u);  // the longest stop less one byte
  }
  EXPECT_EQ(sent, "abcdeabcdeabcde");
  EXPECT_EQ(matcher.finish(), "abcde");
}

TEST(StopMatcher, ChunkingNeverChangesTheResult) {
  const std::vector<std::string> stops = {"aab", "<|end|>", "bc", "😀x", "xabcd"};
  const std::vector<std::string> texts = {"xaaab tail", "a <|en <|end|> b", "abbbc", "😀😀x", "no stop here aa",
                                          "<|end", "ab😀", "yxabcd"};
  for (const std::string& text : texts) {
    const Streamed whole = stream(stops, {text});
    for (size_t cut = 0; cut <= text.size(); ++cut) {
      const Streamed two = stream(stops, {text.substr(0, cut), text.substr(cut)});
      EXPECT_EQ(two.text(), whole.text()) << text << " cut at " << cut;
      EXPECT_EQ(two.stopped, whole.stopped) << text << " cut at " << cut;
    }
    const Streamed bytes = stream(stops, pieces(text, false));
    EXPECT_EQ(bytes.text(), whole.text()) << text;
    EXPECT_EQ(bytes.stopped, whole.stopped) << text;
  }
}

}  // namespace
}  // namespace rs::sampler
