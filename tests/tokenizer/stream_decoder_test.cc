// StreamDecoder: token-by-token text that is always valid UTF-8 and adds up to
// Tokenizer::decode; and the UTF-8 repair (utf8.h) both of them share.
#include "core/tokenizer/stream_decoder.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "core/tokenizer/tokenizer.h"
#include "core/tokenizer/utf8.h"
#include "tests/tokenizer/llama_cpp_vectors.h"

namespace rs::tokenizer {
namespace {

using vectors::shared_vocab;

constexpr std::string_view kFffd = "\xEF\xBF\xBD";  // U+FFFD

std::string fffd(int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += kFffd;
  return out;
}

// ------------------------------------------------------------------ utf8.h

// Expected values are Python 3's bytes.decode("utf-8", errors="replace").
TEST(Utf8, ReplacesMaximalSubpartsLikePython) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", ""},
      {"plain ascii", "plain ascii"},
      {"\xE6\x97\xA5\xE6\x9C\xAC \xF0\x9F\x99\x82", "\xE6\x97\xA5\xE6\x9C\xAC \xF0\x9F\x99\x82"},
      {"\xF0\x9F\x98", fffd(1)},                 // a 4-byte character cut short: one
      {"\xF0\x9F\x98" "a", fffd(1) + "a"},
      {"\xE6\x97", fffd(1)},
      {"\xED\xA0\x80", fffd(3)},                 // a surrogate: ED allows only 80..9F next
      {"\xC0\xAF", fffd(2)},                     // overlong: C0 never starts a sequence
      {"\xE0\x80\xAF", fffd(3)},                 // overlong 3-byte
      {"\xF0\x80", fffd(2)},
      {"\xF4\x90\x80\x80", fffd(4)},             // past U+10FFFF
      {"\xF8\x88\x80\x80\x80", fffd(5)},         // 5-byte forms do not exist
      {"\xFF", fffd(1)},
      {"\xC3(", fffd(1) + "("},
      {"\xE2\x82\xAC\xE2\x82", "\xE2\x82\xAC" + fffd(1)},
      {"a\x80\x80" "b", "a" + fffd(2) + "b"},
      {std::string("nul\0byte", 8), std::string("nul\0byte", 8)},
  };
  for (const auto& [input, expected] : cases) {
    EXPECT_EQ(replace_invalid_utf8(input), expected) << testing::PrintToString(input);
    EXPECT_EQ(is_valid_utf8(input), input == expected) << testing::PrintToString(input);
    EXPECT_TRUE(is_valid_utf8(expected));
  }
  EXPECT_TRUE(is_valid_utf8("\xF4\x8F\xBF\xBF"));   // U+10FFFF
  EXPECT_TRUE(is_valid_utf8("\xED\x9F\xBF"));       // U+D7FF, just below the surrogates
  EXPECT_FALSE(is_valid_utf8("\xE6\x97"));
}

TEST(Utf8, StopsBeforeAnIncompleteTailUnlessAtEnd) {
  std::string out;
  EXPECT_EQ(append_replacing_invalid_utf8("ab\xF0\x9F\x99", false, out), 2u);
  EXPECT_EQ(out, "ab");
  out.clear();
  EXPECT_EQ(append_replacing_invalid_utf8("ab\xF0\x9F\x99", true, out), 5u);
  EXPECT_EQ(out, "ab" + fffd(1));
  out.clear();
  // An ill-formed tail is replaced at once: nothing could complete it.
  EXPECT_EQ(append_replacing_invalid_utf8("ab\xF0\x41", false, out), 4u);
  EXPECT_EQ(out, "ab" + fffd(1) + "A");
  out.clear();
  EXPECT_EQ(append_replacing_invalid_utf8("\xED\xA0", false, out), 2u);  // ED A0 can never be valid
  EXPECT_EQ(out, fffd(2));
}

// Random bytes fed in random pieces give what one call gives, never holding more than 3 bytes.
TEST(Utf8, PiecewiseEqualsOneShot) {
  std::mt19937 random(20240611);
  const std::vector<std::string> atoms = {"a", " ", "\n", "\xC3\xA9", "\xE6\x97\xA5", "\xF0\x9F\xA6\x99",
                                          "\x80", "\xBF", "\xC3", "\xE6", "\xE6\x97", "\xF0", "\xF0\x9F",
                                          "\xF0\x9F\xA6", "\xED", "\xA0", "\xC0", "\xF4", "\x90", "\xFF", "\xE0"};
  for (int round = 0; round < 2000; ++round) {
    std::string text;
    const int n = int(random() % 24);
    for (int i = 0; i < n; ++i) text += atoms[random() % atoms.size()];
    std::string streamed, held;
    for (size_t at = 0; at < text.size();) {
      const size_t size = std::min<size_t>(text.size() - at, 1 + random() % 4);
      held += text.substr(at, size);
      at += size;
      std::string chunk;
      held.erase(0, append_replacing_invalid_utf8(held, false, chunk));
      ASSERT_LE(held.size(), 3u);
      ASSERT_TRUE(is_valid_utf8(chunk)) << testing::PrintToString(text);
      streamed += chunk;
    }
    append_replacing_invalid_utf8(held, true, streamed);
    ASSERT_EQ(streamed, replace_invalid_utf8(text)) << testing::PrintToString(text);
  }
}

// ------------------------------------------------------- synthetic vocabulary

void add(Vocab& vocab, const std::string& text, TokenType type) {
  vocab.ids[text] = TokenId(vocab.tokens.size());
  vocab.tokens.push_back(text);
  vocab.types.push_back(type);
}

// A SentencePiece vocabulary with byte tokens: ids 0-2 <unk> <s> </s>, 3 + b the byte b.
Tokenizer tiny_spm() {
  Vocab vocab;
  vocab.model = "llama";
  add(vocab, "<unk>", TokenType::unknown);
  add(vocab, "<s>", TokenType::control);
  add(vocab, "</s>", TokenType::control);
  for (int byte = 0; byte < 256; ++byte) {
    char name[8];
    std::snprintf(name, sizeof name, "<0x%02X>", byte);
    add(vocab, name, TokenType::byte);
  }
  for (const char* text : {"\xE2\x96\x81Hello", "\xE2\x96\x81world", "\xE2\x96\x81", "\xE6\x97\xA5"}) {
    add(vocab, text, TokenType::normal);
  }
  vocab.unk = 0;
  vocab.bos = 1;
  vocab.eos = 2;
  return Tokenizer(std::move(vocab));
}

TokenId byte_id(uint8_t byte) { return 3 + byte; }

// What the decoder emits for each id, then for finish() (the last entry).
std::vector<std::string> events(const Tokenizer& tokenizer, const std::vector<TokenId>& ids, bool strip = false) {
  StreamDecoder decoder(tokenizer, strip);
  std::vector<std::string> out;
  for (const TokenId id : ids) {
    out.push_back(decoder.push(id));
    EXPECT_LE(decoder.pending_bytes(), 3u);
  }
  out.push_back(decoder.finish());
  EXPECT_EQ(decoder.pending_bytes(), 0u);
  return out;
}

using Events = std::vector<std::string>;

TEST(StreamDecoder, HoldsBackByteTokensUntilTheCharacterIsComplete) {
  const Tokenizer t = tiny_spm();
  // 日 as three byte tokens, then 🙂 as four.
  EXPECT_EQ(events(t, {byte_id(0xE6), byte_id(0x97), byte_id(0xA5)}), (Events{"", "", "\xE6\x97\xA5", ""}));
  EXPECT_EQ(events(t, {byte_id(0xF0), byte_id(0x9F), byte_id(0x99), byte_id(0x82)}),
            (Events{"", "", "", "\xF0\x9F\x99\x82", ""}));
  StreamDecoder decoder(t);
  EXPECT_EQ(decoder.push(byte_id(0xF0)), "");
  EXPECT_EQ(decoder.push(byte_id(0x9F)), "");
  EXPECT_EQ(decoder.push(byte_id(0x99)), "");
  EXPECT_EQ(decoder.pending_bytes(), 3u);
  // A whole token after the held bytes comes out with them.
  EXPECT_EQ(decoder.push(byte_id(0x82)), "\xF0\x9F\x99\x82");
  EXPECT_EQ(decoder.push(t.vocab().id_of("\xE6\x97\xA5")), "\xE6\x97\xA5");
}

TEST(StreamDecoder, InvalidSequencesAreReplacedAsSoonAsTheyAreKnown) {
  const Tokenizer t = tiny_spm();
  // A lead byte followed by ASCII: U+FFFD with the ASCII, not held.
  EXPECT_EQ(events(t, {byte_id(0xE6), byte_id('A')}), (Events{"", fffd(1) + "A", ""}));
  // Bytes that never start a character come out at once.
  EXPECT_EQ(events(t, {byte_id(0xFF), byte_id(0x80), byte_id(0xC0)}), (Events{fffd(1), fffd(1), fffd(1), ""}));
  // A surrogate: ED allows only 80..9F after it.
  EXPECT_EQ(events(t, {byte_id(0xED), byte_id(0xA0), byte_id(0x80)}), (Events{"", fffd(2), fffd(1), ""}));
  // An incomplete character broken by the start of another.
  EXPECT_EQ(events(t, {byte_id(0xF0), byte_id(0x9F), byte_id(0xE6), byte_id(0x97), byte_id(0xA5)}),
            (Events{"", "", fffd(1), "", "\xE6\x97\xA5", ""}));
  // A flood of stray continuation bytes never accumulates.
  StreamDecoder decoder(t);
  for (int i = 0; i < 10000; ++i) {
    ASSERT_EQ(decoder.push(byte_id(0x80 + i % 64)), fffd(1));
    ASSERT_EQ(decoder.pending_bytes(), 0u);
  }
}

TEST(StreamDecoder, FinishReplacesAnIncompleteCharacterAndStartsOver) {
  const Tokenizer t = tiny_spm();
  EXPECT_EQ(events(t, {byte_id('a'), byte_id(0xE6), byte_id(0x97)}), (Events{"a", "", "", fffd(1)}));
  EXPECT_EQ(events(t, {byte_id(0xF0), byte_id(0x9F), byte_id(0x99)}), (Events{"", "", "", fffd(1)}));
  StreamDecoder decoder(t, true);
  EXPECT_EQ(decoder.push(t.vocab().id_of("\xE2\x96\x81Hello")), "Hello");
  EXPECT_EQ(decoder.push(byte_id(0xE6)), "");
  EXPECT_EQ(decoder.finish(), fffd(1));
  EXPECT_EQ(decoder.finish(), "");
  // As newly constructed: the next text's leading space is stripped again.
  EXPECT_EQ(decoder.push(t.vocab().id_of("\xE2\x96\x81world")), "world");
}

TEST(StreamDecoder, ControlTokensAndOutOfRangeIdsAddNothing) {
  const Tokenizer t = tiny_spm();
  const TokenId bos = t.vocab().bos, eos = t.vocab().eos, unk = t.vocab().unk;
  const TokenId past_end = TokenId(t.vocab().size());
  // They do not disturb a character in progress either.
  EXPECT_EQ(events(t, {bos, byte_id(0xE6), eos, byte_id(0x97), -1, past_end, unk, 1 << 30, byte_id(0xA5), eos}),
            (Events{"", "", "", "", "", "", "", "", "\xE6\x97\xA5", "", ""}));
  const std::vector<TokenId> ids = {bos, byte_id(0xE6), -7, byte_id(0x97), past_end, byte_id(0xA5)};
  EXPECT_EQ(t.decode(ids), "\xE6\x97\xA5");
}

TEST(StreamDecoder, StripsOneLeadingSpaceOnlyWhenAsked) {
  const Tokenizer t = tiny_spm();
  const TokenId hello = t.vocab().id_of("\xE2\x96\x81Hello");
  const TokenId world = t.vocab().id_of("\xE2\x96\x81world");
  const TokenId space = t.vocab().id_of("\xE2\x96\x81");
  const TokenId bos = t.vocab().bos;
  // From the start of a text: the tokenizer's "▁" prefix goes, after BOS too.
  EXPECT_EQ(events(t, {bos, hello, world}, true), (Events{"", "Hello", " world", ""}));
  EXPECT_EQ(t.decode(std::vector<TokenId>{bos, hello, world}), "Hello world");
  // Exactly one space: a text that began with a space keeps it.
  EXPECT_EQ(events(t, {space, hello}, true), (Events{"", " Hello", ""}));
  EXPECT_EQ(t.decode(std::vector<TokenId>{space, hello}), " Hello");
  // Continuing after a prompt (the default): a generated word keeps its space.
  EXPECT_EQ(events(t, {world, hello}), (Events{" world", " Hello", ""}));
  // The first text emitted is what gets stripped, even when bytes were held back before it.
  EXPECT_EQ(events(t, {byte_id(' '), byte_id(0xE6), byte_id(0x97), byte_id(0xA5)}, true),
            (Events{"", "", "", "\xE6\x97\xA5", ""}));
  EXPECT_EQ(events(t, {byte_id(0xE6), byte_id(0x97), byte_id(0xA5), world}, true),
            (Events{"", "", "\xE6\x97\xA5", " world", ""}));
}

TEST(StreamDecoder, StripHasNoEffectWithoutASpacePrefix) {
  Vocab vocab;
  vocab.model = "gpt2";
  vocab.pre = "gpt-2";
  vocab.add_space_prefix = false;
  add(vocab, "\xC4\xA0world", TokenType::normal);  // "Ġworld"
  const Tokenizer t(std::move(vocab));
  EXPECT_EQ(events(t, {0}, true), (Events{" world", ""}));
  EXPECT_EQ(t.decode(std::vector<TokenId>{0}), " world");
}

// ------------------------------------------------------- shared vocabularies

struct SharedCase {
  const char* name;
  const char* path;  // under ../shared
};

const SharedCase kSharedVocabularies[] = {{"llama2_spm", "tokenizers/llama2-vocab.gguf"},
                              {"llama3_bpe", "tokenizers/llama3.2-vocab.gguf"}};

std::optional<Tokenizer> load(const SharedCase& c) {
  std::optional<Vocab> vocab = shared_vocab(c.path);
  if (!vocab) return std::nullopt;
  return Tokenizer(std::move(*vocab));
}

bool adds_space_prefix(const Tokenizer& t) { return t.vocab().model == "llama" && t.vocab().add_space_prefix; }

class StreamDecoderShared : public testing::TestWithParam<SharedCase> {};

// Real token streams over CJK, 4-byte emoji and combining characters: every
// event valid UTF-8, together the original text; some characters really are
// spread over several tokens.
TEST_P(StreamDecoderShared, EveryEventIsValidUtf8) {
  const std::optional<Tokenizer> t = load(GetParam());
  if (!t) GTEST_SKIP() << GetParam().path << " is not under ../shared";
  const std::vector<std::string> texts = {
      "日本語のテキストと中文测试，한국어 텍스트。",
      "Emoji: 🦙🙂🎉 👍🏽 👨‍👩‍👧‍👦 🇯🇵 ❤️ 1️⃣ 𝕳𝖊𝖑𝖑𝖔 🫠🪿",
      "Combining: cafe\u0301 a\u0308\u0301 Z\u0351\u0352\u0353 n\u0303 \u0915\u094D\u0937 \u1100\u1161\u11A8",
      "Mixed 漢字 and emoji 🦙 in one line\nwith a newline\tand tab",
      "ஸ்ரீ ꦧꦱꦗꦮ 𐍈 𓀀 ﷽",
  };
  size_t held_back = 0;
  for (const std::string& text : texts) {
    const std::vector<TokenId> ids = t->encode(text, true);
    StreamDecoder decoder(*t, adds_space_prefix(*t));
    std::string joined;
    for (const TokenId id : ids) {
      const std::string event = decoder.push(id);
      EXPECT_TRUE(is_valid_utf8(event)) << GetParam().name << ": " << testing::PrintToString(event);
      held_back += event.empty() && !t->piece(id).empty();
      joined += event;
    }
    const std::string last = decoder.finish();
    EXPECT_EQ(last, "");  // valid text leaves nothing incomplete
    joined += last;
    EXPECT_EQ(joined, text) << GetParam().name;
    EXPECT_EQ(joined, t->decode(ids)) << GetParam().name;
  }
  EXPECT_GT(held_back, 0u) << "no token of these texts held a character back: the test proves nothing";
}

// Generated text after a prompt: the default keeps the space of the first word.
TEST_P(StreamDecoderShared, ContinuationKeepsTheLeadingSpace) {
  const std::optional<Tokenizer> t = load(GetParam());
  if (!t) GTEST_SKIP() << GetParam().path << " is not under ../shared";
  const std::vector<TokenId> ids = t->encode("Hello world 日本", true);
  const std::vector<TokenId> prompt = t->encode("Hello", true);
  ASSERT_LT(prompt.size(), ids.size());
  ASSERT_TRUE(std::equal(prompt.begin(), prompt.end(), ids.begin()));
  StreamDecoder continuation(*t);
  std::string generated;
  for (size_t i = prompt.size(); i < ids.size(); ++i) generated += continuation.push(ids[i]);
  generated += continuation.finish();
  EXPECT_EQ(generated, " world 日本");

  StreamDecoder whole(*t, true);
  std::string text;
  for (const TokenId id : ids) text += whole.push(id);
  EXPECT_EQ(text + whole.finish(), "Hello world 日本");
}

// Random ids, biased towards tokens that are not valid UTF-8 on their own
// (byte tokens, pieces of characters), control tokens and ids outside the
// vocabulary: events are always valid UTF-8, at most 3 bytes are ever held,
// and the events add up to Tokenizer::decode.
TEST_P(StreamDecoderShared, RandomIdsAddUpToDecode) {
  const std::optional<Tokenizer> t = load(GetParam());
  if (!t) GTEST_SKIP() << GetParam().path << " is not under ../shared";
  const auto size = TokenId(t->vocab().size());
  std::vector<TokenId> partial, control;
  for (TokenId id = 0; id < size; ++id) {
    const std::string piece = t->piece(id);
    if (piece.empty()) control.push_back(id);
    if (!is_valid_utf8(piece)) partial.push_back(id);
  }
  ASSERT_GT(partial.size(), 100u);
  ASSERT_FALSE(control.empty());

  std::mt19937 random(0x5eed);
  const auto pick = [&]() -> TokenId {
    const unsigned kind = random() % 100;
    if (kind < 50) return partial[random() % partial.size()];
    if (kind < 60) return control[random() % control.size()];
    if (kind < 63) return kind % 2 ? -1 - TokenId(random() % 5) : size + TokenId(random() % 5);
    return TokenId(random() % unsigned(size));
  };
  for (int round = 0; round < 400; ++round) {
    std::vector<TokenId> ids(random() % 48);
    for (TokenId& id : ids) id = pick();
    const bool strip = round % 2 == 0;
    StreamDecoder decoder(*t, strip);
    std::string joined, raw;
    for (const TokenId id : ids) {
      const std::string event = decoder.push(id);
      ASSERT_TRUE(is_valid_utf8(event)) << GetParam().name << " round " << round;
      ASSERT_LE(decoder.pending_bytes(), 3u);
      joined += event;
      raw += t->piece(id);
    }
    const std::string last = decoder.finish();
    ASSERT_TRUE(is_valid_utf8(last));
    joined += last;
    if (strip || !adds_space_prefix(*t)) {
      ASSERT_EQ(joined, t->decode(ids)) << GetParam().name << " round " << round;
    } else {  // decode strips SentencePiece's prefix space; keeping it, the stream is the pieces repaired
      ASSERT_EQ(joined, replace_invalid_utf8(raw)) << GetParam().name << " round " << round;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Vocabularies, StreamDecoderShared, testing::ValuesIn(kSharedVocabularies),
                         [](const testing::TestParamInfo<SharedCase>& info) { return info.param.name; });

}  // namespace
}  // namespace rs::tokenizer
