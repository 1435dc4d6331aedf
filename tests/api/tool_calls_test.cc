// Tool calls read out of generated text: each model family's own format
// (tool_choice "auto"), and the JSON that tool_choice "required" or a named
// function holds the output to; whole and streamed in pieces of every size,
// which must come to the same thing.
#include "core/api/tool_calls.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "core/api/forced_tool_calls.h"
#include "core/api/json_value_end.h"
#include "core/template/chat_template.h"
#include "tests/support/ci.h"

namespace rs::api {
namespace {

constexpr uint32_t kAnyNumber = UINT32_MAX;

ToolCallOutput read_native(ToolCallFormat format, std::string_view text, uint32_t max_calls = kAnyNumber) {
  return read_tool_calls(*native_tool_call_reader(format, max_calls), text);
}

// What a stream of `text` in pieces of `piece` bytes hands out, put together.
ToolCallOutput read_in_pieces(ToolCallReader& reader, std::string_view text, size_t piece) {
  ToolCallOutput output;
  for (size_t at = 0; at < text.size(); at += piece) {
    ToolCallDelta delta;
    reader.push(text.substr(at, piece), delta);
    accumulate(output, delta);
  }
  ToolCallDelta delta;
  reader.finish(delta);
  accumulate(output, delta);
  return output;
}

// The calls as "name(arguments)", ids left out: they are random.
std::vector<std::string> calls_of(const ToolCallOutput& output) {
  std::vector<std::string> calls;
  for (const ToolCall& call : output.calls) calls.push_back(call.name + "(" + call.arguments + ")");
  return calls;
}

using Calls = std::vector<std::string>;

// Whole, then streamed in pieces of 1, 2, 3, 5 and 7 bytes: the same content and calls every time.
void expect_read(ToolCallFormat format, std::string_view text, std::string_view content, const Calls& calls) {
  SCOPED_TRACE(text);
  const ToolCallOutput whole = read_native(format, text);
  EXPECT_EQ(whole.content, content);
  EXPECT_EQ(calls_of(whole), calls);
  for (const size_t piece : {1, 2, 3, 5, 7}) {
    SCOPED_TRACE(piece);
    const ToolCallOutput streamed = read_in_pieces(*native_tool_call_reader(format, kAnyNumber), text, piece);
    EXPECT_EQ(streamed.content, content);
    EXPECT_EQ(calls_of(streamed), calls);
  }
}

TEST(ToolCallFormats, NamesAndWhatTheTemplatesShow) {
  for (const std::string& name : tool_call_format_names()) {
    const std::optional<ToolCallFormat> format = tool_call_format_named(name);
    ASSERT_TRUE(format) << name;
    EXPECT_EQ(tool_call_format_name(*format), name);
  }
  EXPECT_EQ(tool_call_format_names(), (std::vector<std::string>{"hermes", "llama3_json", "mistral"}));
  EXPECT_FALSE(tool_call_format_named("pythonic"));
  EXPECT_EQ(tool_call_format_of(chat::ChatTemplate::builtin("chatml").source()), ToolCallFormat::hermes);
  EXPECT_EQ(tool_call_format_of(""), ToolCallFormat::hermes);
}

TEST(ToolCallFormats, TheSharedTemplatesShowTheirFamilysFormat) {
  const std::string templates = RINGSERVE_SOURCE_DIR "/../shared/templates/";
  if (!std::filesystem::is_directory(templates)) {
    RS_SKIP_UNLESS_CI(templates + " is missing (the real templates live in ../shared)");
  }
  const auto format_of = [&](const std::string& file) {
    std::ifstream in(templates + file, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    EXPECT_FALSE(text.str().empty()) << file;
    return tool_call_format_of(text.str());
  };
  EXPECT_EQ(format_of("qwen2.5.jinja"), ToolCallFormat::hermes);
  EXPECT_EQ(format_of("llama3.1.jinja"), ToolCallFormat::llama3_json);
  EXPECT_EQ(format_of("llama3.2.jinja"), ToolCallFormat::llama3_json);
  EXPECT_EQ(format_of("mistral-v0.3.jinja"), ToolCallFormat::mistral);
  EXPECT_EQ(format_of("llama3.jinja"), ToolCallFormat::hermes);  // no tools at all: the default
}

TEST(ToolCallIds, OpenAisShapeAndUnique) {
  const std::regex openai("call_[A-Za-z0-9]{24}");
  const std::regex mistral("[A-Za-z0-9]{9}");
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    const std::string id = new_tool_call_id(ToolCallFormat::hermes);
    EXPECT_TRUE(std::regex_match(id, openai)) << id;
    EXPECT_TRUE(seen.insert(id).second) << id;
    EXPECT_TRUE(std::regex_match(new_tool_call_id(ToolCallFormat::mistral), mistral));
  }
  // Every call of one output has its own id.
  const ToolCallOutput output = read_native(
      ToolCallFormat::hermes, R"(<tool_call>{"name": "a", "arguments": {}}</tool_call><tool_call>{"name": "a", )"
                              R"("arguments": {}}</tool_call>)");
  ASSERT_EQ(output.calls.size(), 2u);
  EXPECT_NE(output.calls[0].id, output.calls[1].id);
}

TEST(HermesToolCalls, CallsAnywhereInTheText) {
  expect_read(ToolCallFormat::hermes,
              "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\", \"unit\": \"celsius\"}}\n"
              "</tool_call>",
              "", {R"(get_weather({"city":"Paris","unit":"celsius"}))"});
  // Content around calls keeps its text, less the whitespace next to the calls.
  expect_read(ToolCallFormat::hermes,
              "Let me check.\n<tool_call>\n{\"name\": \"a\", \"arguments\": {}}\n</tool_call>\n<tool_call>\n"
              "{\"name\": \"b\", \"arguments\": {\"x\": [1, 2.5, \"\xC3\xA9\"], \"y\": {\"z\": null}}}\n</tool_call>\n"
              "  Done.",
              "Let me check.Done.", {"a({})", "b({\"x\":[1,2.5,\"\xC3\xA9\"],\"y\":{\"z\":null}})"});
  // A call the model did not close before it stopped is still a call.
  expect_read(ToolCallFormat::hermes, "<tool_call>\n{\"name\": \"a\", \"arguments\": {\"q\": 1}}", "", {R"(a({"q":1}))"});
  expect_read(ToolCallFormat::hermes, "No tools needed: 1 < 2 and 3 > 2.\n", "No tools needed: 1 < 2 and 3 > 2.\n",
              {});
}

TEST(HermesToolCalls, ACallThatDoesNotParseStaysContent) {
  for (const std::string_view text : {
           "<tool_call>\n{\"name\": \"a\", \"arguments\": {\"x\": }\n</tool_call>",  // not JSON
           "<tool_call>{\"arguments\": {}}</tool_call>",                            // no name
           "<tool_call>{\"name\": \"a\", \"arguments\": \"x=1\"}</tool_call>",      // arguments not an object
           "<tool_call>[1, 2]</tool_call>",
           "<tool_call>{\"name\": \"a\", \"arguments\": {}",  // cut short
       }) {
    expect_read(ToolCallFormat::hermes, text, text, {});
    auto reader = native_tool_call_reader(ToolCallFormat::hermes, kAnyNumber);
    read_tool_calls(*reader, text);
    EXPECT_FALSE(reader->finish_as_tool_calls());
  }
  // The calls around it are still calls.
  expect_read(ToolCallFormat::hermes,
              "<tool_call>{\"name\": \"a\", \"arguments\": {}}</tool_call><tool_call>{oops}</tool_call>",
              "<tool_call>{oops}</tool_call>", {"a({})"});
}

TEST(HermesToolCalls, WhatMayStartAMarkerIsHeldUntilItIsOneOrNot) {
  auto reader = native_tool_call_reader(ToolCallFormat::hermes, kAnyNumber);
  ToolCallDelta delta;
  reader->push("Hello <tool_", delta);
  EXPECT_EQ(delta.content, "Hello");  // the space may be a call's, and "<tool_" may open one
  EXPECT_TRUE(delta.calls.empty());
  delta = {};
  reader->push("call>\n{\"name\": \"f\", \"arguments\": {\"a\"", delta);
  EXPECT_EQ(delta.content, "");
  EXPECT_TRUE(delta.calls.empty());  // held until the call is whole
  delta = {};
  reader->push(": 1}}\n</tool_call>", delta);
  ASSERT_EQ(delta.calls.size(), 2u);
  EXPECT_EQ(delta.calls[0].index, 0u);
  EXPECT_EQ(delta.calls[0].name, "f");
  EXPECT_EQ(delta.calls[0].arguments, "");  // the first piece: id and name, as OpenAI sends them
  EXPECT_FALSE(delta.calls[0].id.empty());
  EXPECT_EQ(delta.calls[1].index, 0u);
  EXPECT_EQ(delta.calls[1].id, "");
  EXPECT_EQ(delta.calls[1].arguments, R"({"a":1})");
  delta = {};
  reader->push("\n  bye <", delta);
  EXPECT_EQ(delta.content, "bye");
  delta = {};
  reader->push("tool_box>", delta);  // not a marker after all: it goes out as it was
  EXPECT_EQ(delta.content, " <tool_box>");
  delta = {};
  reader->push(" <tool", delta);
  EXPECT_EQ(delta.content, "");
  reader->finish(delta);
  EXPECT_EQ(delta.content, " <tool");
  EXPECT_TRUE(reader->finish_as_tool_calls());
}

TEST(HermesToolCalls, WithoutParallelCallsOnlyTheFirstCounts) {
  const ToolCallOutput output = read_native(
      ToolCallFormat::hermes,
      "<tool_call>{\"name\": \"a\", \"arguments\": {}}</tool_call>\n<tool_call>{\"name\": \"b\", \"arguments\": {}}"
      "</tool_call>",
      1);
  EXPECT_EQ(calls_of(output), Calls{"a({})"});
  EXPECT_EQ(output.content, "");
}

TEST(Llama3JsonToolCalls, OnlyAnOutputThatStartsWithACall) {
  expect_read(ToolCallFormat::llama3_json, R"({"name": "get_weather", "parameters": {"city": "Paris"}})", "",
              {R"(get_weather({"city":"Paris"}))"});
  expect_read(ToolCallFormat::llama3_json,
              R"(<|python_tag|>{"name": "a", "parameters": {}}; {"name": "b", "arguments": {"k": [true, "}"]}})", "",
              {"a({})", R"(b({"k":[true,"}"]}))"});
  expect_read(ToolCallFormat::llama3_json, " \n{\"name\": \"a\", \"parameters\": {}}\n", "", {"a({})"});
  expect_read(ToolCallFormat::llama3_json, R"({"name": "a", "parameters": {}} and that is all)", "and that is all",
              {"a({})"});
  // Not at the start, or not a call: content, as written.
  expect_read(ToolCallFormat::llama3_json, R"(Calling {"name": "a", "parameters": {}})",
              R"(Calling {"name": "a", "parameters": {}})", {});
  expect_read(ToolCallFormat::llama3_json, " {\"answer\": 42}", " {\"answer\": 42}", {});
  expect_read(ToolCallFormat::llama3_json, R"({"name": "a", "parameters": {}); more)",
              R"({"name": "a", "parameters": {}); more)", {});
  expect_read(ToolCallFormat::llama3_json, "<|python_tag|>brave_search.call(query=\"x\")",
              "<|python_tag|>brave_search.call(query=\"x\")", {});
}

TEST(Llama3JsonToolCalls, PlainTextIsNotHeldBack) {
  auto reader = native_tool_call_reader(ToolCallFormat::llama3_json, kAnyNumber);
  ToolCallDelta delta;
  reader->push("  ", delta);
  EXPECT_EQ(delta.content, "");  // a call may follow
  reader->push("Sure", delta);
  EXPECT_EQ(delta.content, "  Sure");
  reader->push(" {\"name\"", delta);
  EXPECT_EQ(delta.content, "  Sure {\"name\"");
}

TEST(MistralToolCalls, AnArrayAfterTheMarker) {
  const std::string_view text =
      R"([TOOL_CALLS] [{"name": "get_weather", "arguments": {"city": "Paris"}}, {"name": "get_time", "arguments": {}}])";
  expect_read(ToolCallFormat::mistral, text, "", {R"(get_weather({"city":"Paris"}))", "get_time({})"});
  const ToolCallOutput output = read_native(ToolCallFormat::mistral, text);
  ASSERT_EQ(output.calls.size(), 2u);
  EXPECT_EQ(output.calls[0].id.size(), 9u);  // the only ids Mistral's template takes back
  expect_read(ToolCallFormat::mistral, R"(Checking. [TOOL_CALLS][{"name": "a", "arguments": {"x": "]"}}])",
              "Checking.", {R"(a({"x":"]"}))"});
  expect_read(ToolCallFormat::mistral, "[TOOL_CALLS] oops", "[TOOL_CALLS] oops", {});
  expect_read(ToolCallFormat::mistral, R"([TOOL_CALLS] [{"name": "a"}])", R"([TOOL_CALLS] [{"name": "a"}])", {});
  expect_read(ToolCallFormat::mistral, "[1, 2] are numbers", "[1, 2] are numbers", {});
}

TEST(JsonValueEnd, FollowsNestingAndStrings) {
  const auto end_of = [](std::string_view text) -> std::optional<size_t> {
    JsonValueEnd end;
    const size_t taken = end.feed(text);
    if (!end.done()) return std::nullopt;
    return taken;
  };
  EXPECT_EQ(end_of(R"({"a": "}", "b": [1, {"c": "\"]"}]} tail)"), 34u);
  EXPECT_EQ(end_of(R"("a \" b", 1)"), 8u);
  EXPECT_EQ(end_of("-12.5e3,"), 7u);
  EXPECT_EQ(end_of("true}"), 4u);
  EXPECT_EQ(end_of(R"({"a": [)"), std::nullopt);
  JsonValueEnd number;
  EXPECT_EQ(number.feed("42"), 2u);
  EXPECT_FALSE(number.done());  // more digits may come
  number.end_of_text();
  EXPECT_TRUE(number.done());
  JsonValueEnd bad;
  EXPECT_EQ(bad.feed("}x"), 0u);
  EXPECT_TRUE(bad.invalid());
  JsonValueEnd split;  // one byte at a time
  size_t taken = 0;
  for (const char c : std::string_view(R"({"k": "v\\"} )")) taken += split.feed(std::string_view(&c, 1));
  EXPECT_TRUE(split.done());
  EXPECT_EQ(taken, 12u);
}

std::vector<Tool> weather_tools() {
  return {{"get_weather", "The weather in a city",
           R"({"type":"object","properties":{"city":{"type":"string"}},"required":["city"]})"},
          {"get_time", "", R"({"type":"object","properties":{}})"}};
}

TEST(ForcedToolCalls, TheSchemaOfEachChoice) {
  const std::vector<Tool> tools = weather_tools();
  const std::string call_of_each =
      R"({"type":"object","properties":{"name":{"const":"get_weather"},"arguments":{"type":"object","properties":)"
      R"({"city":{"type":"string"}},"required":["city"]}},"required":["name","arguments"],"additionalProperties":)"
      R"(false},{"type":"object","properties":{"name":{"const":"get_time"},"arguments":{"type":"object",)"
      R"("properties":{}}},"required":["name","arguments"],"additionalProperties":false})";
  const ToolChoice required{ToolChoice::Kind::required, ""};
  EXPECT_EQ(forced_tool_call_schema(tools, required, true),
            R"({"type":"array","minItems":1,"items":{"anyOf":[)" + call_of_each + "]}}");
  EXPECT_EQ(forced_tool_call_schema(tools, required, false),
            R"({"type":"array","minItems":1,"maxItems":1,"items":{"anyOf":[)" + call_of_each + "]}}");
  EXPECT_EQ(forced_tool_call_schema(tools, {ToolChoice::Kind::named, "get_weather"}, true), tools[0].parameters_json);
}

TEST(ForcedToolCalls, ANamedFunctionsArgumentsStreamAsTheyCome) {
  auto reader = forced_tool_call_reader({ToolChoice::Kind::named, "get_weather"}, ToolCallFormat::hermes);
  ToolCallDelta delta;
  reader->push(R"({"ci)", delta);
  ASSERT_EQ(delta.calls.size(), 2u);
  EXPECT_EQ(delta.calls[0].name, "get_weather");
  EXPECT_EQ(delta.calls[0].arguments, "");
  EXPECT_EQ(delta.calls[0].id.size(), 29u);
  EXPECT_EQ(delta.calls[1].arguments, R"({"ci)");
  delta = {};
  reader->push(R"(ty": "Paris"})", delta);
  ASSERT_EQ(delta.calls.size(), 1u);
  EXPECT_EQ(delta.calls[0].arguments, R"(ty": "Paris"})");
  delta = {};
  reader->finish(delta);
  EXPECT_TRUE(delta.calls.empty());
  EXPECT_TRUE(delta.content.empty());
  EXPECT_FALSE(reader->finish_as_tool_calls());  // OpenAI's finish_reason for a named function is "stop"
  // An empty output is still the call, with no arguments.
  auto empty = forced_tool_call_reader({ToolChoice::Kind::named, "get_time"}, ToolCallFormat::hermes);
  EXPECT_EQ(calls_of(read_tool_calls(*empty, "")), Calls{"get_time()"});
}

TEST(ForcedToolCalls, RequiredCallsStreamTheirArgumentsOnceNamed) {
  const std::string_view text =
      R"([{"name": "get_weather", "arguments": {"city": "Paris"}}, {"name":"get_time","arguments":{}}])";
  for (const size_t piece : {1, 2, 3, 5, 7, 100}) {
    SCOPED_TRACE(piece);
    auto reader = forced_tool_call_reader({ToolChoice::Kind::required, ""}, ToolCallFormat::hermes);
    const ToolCallOutput output = read_in_pieces(*reader, text, piece);
    EXPECT_EQ(output.content, "");
    EXPECT_EQ(calls_of(output), (Calls{R"(get_weather({"city": "Paris"}))", "get_time({})"}));
    EXPECT_TRUE(reader->finish_as_tool_calls());
  }
  // Part of the arguments goes out before the call is whole.
  auto reader = forced_tool_call_reader({ToolChoice::Kind::required, ""}, ToolCallFormat::hermes);
  ToolCallDelta delta;
  reader->push(R"([{"name": "get_weather", "arguments": {"city": "Pa)", delta);
  ASSERT_EQ(delta.calls.size(), 2u);
  EXPECT_EQ(delta.calls[0].name, "get_weather");
  EXPECT_EQ(delta.calls[1].arguments, R"({"city": "Pa)");
}

TEST(ForcedToolCalls, ArgumentsBeforeTheNameWaitForIt) {
  auto reader = forced_tool_call_reader({ToolChoice::Kind::required, ""}, ToolCallFormat::mistral);
  ToolCallDelta delta;
  reader->push(R"([{"arguments": {"a": 1}, )", delta);
  EXPECT_TRUE(delta.calls.empty());
  reader->push(R"("name": "f"}])", delta);
  ASSERT_EQ(delta.calls.size(), 2u);
  EXPECT_EQ(delta.calls[0].name, "f");
  EXPECT_EQ(delta.calls[0].id.size(), 9u);
  EXPECT_EQ(delta.calls[1].arguments, R"({"a": 1})");
}

TEST(ForcedToolCalls, TextOutsideTheSchemaIsContent) {
  auto reader = forced_tool_call_reader({ToolChoice::Kind::required, ""}, ToolCallFormat::hermes);
  const ToolCallOutput free = read_tool_calls(*reader, "Once upon a time");
  EXPECT_EQ(free.content, "Once upon a time");
  EXPECT_TRUE(free.calls.empty());
  EXPECT_FALSE(reader->finish_as_tool_calls());
  auto after = forced_tool_call_reader({ToolChoice::Kind::required, ""}, ToolCallFormat::hermes);
  const ToolCallOutput tail = read_tool_calls(*after, R"([{"name": "f", "arguments": {}}]  and more)");
  EXPECT_EQ(calls_of(tail), Calls{"f({})"});
  EXPECT_EQ(tail.content, "and more");
}

}  // namespace
}  // namespace rs::api
