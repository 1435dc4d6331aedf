// Guard marks: where the client's strings spell a special token, a mark goes
// before the byte to guard; the marks survive the template's string functions
// and come out as guarded offsets, leaving the text render() gives.
#include "core/template/guard_marks.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "core/template/chat_template.h"
#include "core/template/error.h"
#include "core/template/json.h"

namespace rs::chat {
namespace {

// Two control tokens sharing their first byte, one whose first code point is two bytes, one of one code point.
constexpr std::string_view kSpecials[] = {"<|eot_id|>", "<s>", "\u2581<b>", "\u00e9"};
const ForgeableTexts kForgeable(kSpecials);

// The guarded offsets of every spelling of `special` in `text`: where its second byte is.
std::vector<size_t> second_bytes_of(std::string_view text, std::string_view special) {
  std::vector<size_t> offsets;
  for (size_t at = text.find(special); at != std::string_view::npos; at = text.find(special, at + 1)) {
    offsets.push_back(at + 1);
  }
  return offsets;
}

TEST(GuardMarks, GoOnTheSecondCodePointOfEverySpelling) {
  EXPECT_EQ(kForgeable.marked_text("a<|eot_id|>b<s>"), "a<\xFF|eot_id|>b<\xFFs>");
  EXPECT_EQ(kForgeable.marked_text("<s><s>"), "<\xFFs><\xFFs>");
  EXPECT_EQ(kForgeable.marked_text("x\u2581<b>y"), "x\u2581\xFF<b>y");  // after the three bytes of U+2581
  EXPECT_EQ(kForgeable.marked_text("caf\u00e9"), "caf\xFF\u00e9");     // a token of one code point: on it
  EXPECT_EQ(kForgeable.marked_text("<S> <|EOT_ID|>"), "<\xFFS> <\xFF|EOT_ID|>");  // a template could lower() them
  EXPECT_EQ(kForgeable.marked_text("plain text, <|eot and s>"), "plain text, <|eot and s>");
}

// The next client string in the prompt could finish what this one starts.
TEST(GuardMarks, GoOnASpellingCutOffByTheEnd) {
  EXPECT_EQ(kForgeable.marked_text("hi <|eo"), "hi <\xFF|eo");
  EXPECT_EQ(kForgeable.marked_text("hi <"), "hi \xFF<");
  EXPECT_EQ(kForgeable.marked_text("hi \u2581"), "hi \xFF\u2581");
}

TEST(GuardMarks, MarkEveryStringOfAValueKeysIncluded) {
  const jinja::Value value = jinja::value_from_json(R"([{"<s>": "a<s>", "n": 1, "list": ["<|eot_id|>", null]}])");
  const jinja::Value marked = kForgeable.marked(value);
  const jinja::Object& object = marked.as_array()[0].as_object();
  ASSERT_EQ(object.size(), 3u);
  EXPECT_EQ(object.begin()->first, "<\xFFs>");
  EXPECT_EQ(object.begin()->second.as_string(), "a<\xFFs>");
  EXPECT_EQ(object.find("n")->as_int(), 1);
  EXPECT_EQ(object.find("list")->as_array()[0].as_string(), "<\xFF|eot_id|>");
  EXPECT_TRUE(object.find("list")->as_array()[1].is_none());
}

TEST(GuardMarks, ComeOutAsGuardedOffsets) {
  const GuardedText taken = take_guard_marks("a<\xFF|eot_id|>\xFF\xFF" "b\xFF");
  EXPECT_EQ(taken.text, "a<|eot_id|>b");
  EXPECT_EQ(taken.guards, (std::vector<size_t>{2, 11, 12}));  // two marks in a row guard one byte
  EXPECT_EQ(take_guard_marks("").text, "");
  EXPECT_TRUE(take_guard_marks("no marks").guards.empty());
}

// Each output holds the client's "<|eot_id|>" and the template's own, which stays unguarded.
TEST(GuardMarks, SurviveTheStringFunctionsOfTemplates) {
  const ChatTemplate probe = ChatTemplate::parse(
      "<|eot_id|>{% set c = messages[0].content %}"
      "{{ c | trim }}|{{ c | upper | lower }}|{{ c.strip() + '!' }}|{{ c | tojson }}|{{ [c] }}|"
      "{{ c | title }}|{{ c.capitalize() | lower }}|{{ c.split(' ') | join('_') }}|{{ c.replace('x', 'y') }}|"
      "{{ tools | tojson }}",
      "probe");
  ChatContext context;
  context.tools = jinja::value_from_json(R"([{"description": "x<|eot_id|>"}])");
  const jinja::Value messages =
      messages_from_json(R"([{"role": "user", "content": "  x<|eot_id|> \"q\" "}])", probe);
  const GuardedText taken = take_guard_marks(probe.render_marked(messages, context, kForgeable));
  EXPECT_EQ(taken.text, probe.render(messages, context));
  std::vector<size_t> expected = second_bytes_of(taken.text, "<|eot_id|>");
  ASSERT_EQ(expected.size(), 11u) << taken.text;  // 10 of the client's, after the template's at 0
  expected.erase(expected.begin());
  EXPECT_EQ(taken.guards, expected) << taken.text;
}

TEST(GuardMarks, LeaveNoTraceInARenderError) {
  const ChatTemplate strict = ChatTemplate::parse("{{ raise_exception('no: ' + messages[0].content) }}", "strict");
  const jinja::Value messages = messages_from_json(R"([{"role": "user", "content": "<s>"}])", strict);
  try {
    strict.render_marked(messages, {}, kForgeable);
    FAIL() << "rendered";
  } catch (const jinja::TemplateError& e) {
    EXPECT_EQ(e.reason(), "no: <s>");
    EXPECT_TRUE(e.raised_by_template());
    EXPECT_EQ(e.template_name(), "strict");
    EXPECT_EQ(e.line(), 1);
  }
}

}  // namespace
}  // namespace rs::chat
