#include "core/api/forced_tool_calls.h"

#include <simdjson.h>

#include "core/api/json_value_end.h"
#include "core/base/json_write.h"

namespace rs::api {
namespace {

// Appends argument text to the last fragment when it continues the same call, else as a fragment of its own.
void add_arguments(ToolCallDelta& out, uint32_t index, std::string_view text) {
  if (text.empty()) return;
  if (!out.calls.empty() && out.calls.back().index == index && out.calls.back().id.empty()) {
    out.calls.back().arguments += text;
    return;
  }
  out.calls.push_back({index, "", "", std::string(text)});
}

// A named function: the whole output is its arguments.
class NamedReader final : public ToolCallReader {
 public:
  NamedReader(std::string name, ToolCallFormat format) : name_(std::move(name)), format_(format) {}

  void push(std::string_view text, ToolCallDelta& out) override {
    begin(out);
    add_arguments(out, 0, text);
  }
  void finish(ToolCallDelta& out) override { begin(out); }
  bool finish_as_tool_calls() const override { return false; }

 private:
  void begin(ToolCallDelta& out) {
    if (begun_) return;
    begun_ = true;
    out.calls.push_back({0, new_tool_call_id(format_), name_, ""});
  }

  const std::string name_;
  const ToolCallFormat format_;
  bool begun_ = false;
};

// "required": [{"name": …, "arguments": …}, …], read byte by byte. A call's first fragment goes out once its
// name is known; its arguments stream as they come (held until then, should they come first).
class RequiredReader final : public ToolCallReader {
 public:
  explicit RequiredReader(ToolCallFormat format) : format_(format) {}

  void push(std::string_view text, ToolCallDelta& out) override {
    size_t i = 0;
    while (i < text.size()) i += step(text.substr(i), out);
  }
  void finish(ToolCallDelta& out) override {
    if (state_ == State::value) {
      value_end_.end_of_text();
      if (value_end_.done()) end_value(out);
    }
  }
  bool finish_as_tool_calls() const override { return calls_ > 0; }

 private:
  enum class State { before_array, before_call, before_key, key, before_colon, before_value, value, after_value,
                     after_array, off_schema };

  // Reads from the start of `text` (not empty); returns how many bytes it took.
  size_t step(std::string_view text, ToolCallDelta& out) {
    const char c = text.front();
    switch (state_) {
      case State::before_array:
        return expect(c, c == '[', State::before_call, text, out);
      case State::before_call:
        if (c == ',') return 1;
        if (c == ']') return move_to(State::after_array);
        if (c == '{') begin_call();
        return expect(c, c == '{', State::before_key, text, out);
      case State::before_key:
        if (c == '}') return move_to(State::before_call);  // a call without a name is dropped
        key_.clear();
        return expect(c, c == '"', State::key, text, out);
      case State::key:
        if (c == '"' && !key_escaped_) {
          state_ = State::before_colon;
        } else {
          key_escaped_ = c == '\\' && !key_escaped_;
          key_ += c;
        }
        return 1;
      case State::before_colon:
        return expect(c, c == ':', State::before_value, text, out);
      case State::before_value:
        if (is_json_space(c)) return 1;
        value_end_ = {};
        state_ = State::value;
        return 0;
      case State::value: {
        const size_t taken = value_end_.feed(text);
        take_value(text.substr(0, taken), out);
        if (value_end_.invalid()) return leave_schema(text, out);
        if (value_end_.done()) end_value(out);
        return taken;
      }
      case State::after_value:
        if (c == ',') return move_to(State::before_key);
        return expect(c, c == '}', State::before_call, text, out);
      case State::after_array:
        return expect(c, false, state_, text, out);
      case State::off_schema:
        return leave_schema(text, out);
    }
    return text.size();
  }

  // Takes one byte and moves to `next`.
  size_t move_to(State next) {
    state_ = next;
    return 1;
  }

  // One byte where only whitespace or what is `wanted` may come: moves to `next` on it, else leaves the schema.
  size_t expect(char c, bool wanted, State next, std::string_view text, ToolCallDelta& out) {
    if (wanted) return move_to(next);
    if (is_json_space(c)) return 1;
    return leave_schema(text, out);
  }

  size_t leave_schema(std::string_view text, ToolCallDelta& out) {
    state_ = State::off_schema;
    out.content += text;
    return text.size();
  }

  void begin_call() {
    name_.clear();
    held_arguments_.clear();
    named_ = false;
  }

  void take_value(std::string_view text, ToolCallDelta& out) {
    if (key_ == "name") {
      name_ += text;
    } else if (key_ == "arguments") {
      if (named_) add_arguments(out, calls_ - 1, text);
      else held_arguments_ += text;
    }
  }

  void end_value(ToolCallDelta& out) {
    state_ = State::after_value;
    if (key_ != "name" || named_) return;
    thread_local simdjson::dom::parser parser;
    std::string_view name;
    if (parser.parse(name_).get(name)) return;  // the schema's const makes it a string
    named_ = true;
    out.calls.push_back({calls_++, new_tool_call_id(format_), std::string(name), ""});
    add_arguments(out, calls_ - 1, held_arguments_);
    held_arguments_.clear();
  }

  const ToolCallFormat format_;
  State state_ = State::before_array;
  std::string key_;  // the key being read, or whose value is
  bool key_escaped_ = false;
  JsonValueEnd value_end_;
  std::string name_;            // the "name" value's JSON text so far
  std::string held_arguments_;  // "arguments" text read before the name
  bool named_ = false;          // this call's first fragment is out
  uint32_t calls_ = 0;
};

}  // namespace

std::string forced_tool_call_schema(std::span<const Tool> tools, const ToolChoice& choice, bool parallel) {
  if (choice.kind == ToolChoice::Kind::named) {
    for (const Tool& tool : tools) {
      if (tool.name == choice.name) return tool.parameters_json;
    }
    return {};  // the request parser checks that the name is one of the tools
  }
  std::string schema = R"({"type":"array","minItems":1,)";
  if (!parallel) schema += R"("maxItems":1,)";
  schema += R"("items":{"anyOf":[)";
  for (size_t i = 0; i < tools.size(); ++i) {
    if (i > 0) schema += ',';
    schema += R"({"type":"object","properties":{"name":{"const":)";
    json::append_string(schema, tools[i].name);
    schema += R"(},"arguments":)";
    schema += tools[i].parameters_json;
    schema += R"(},"required":["name","arguments"],"additionalProperties":false})";
  }
  schema += "]}}";
  return schema;
}

std::unique_ptr<ToolCallReader> forced_tool_call_reader(const ToolChoice& choice, ToolCallFormat format) {
  if (choice.kind == ToolChoice::Kind::named) return std::make_unique<NamedReader>(choice.name, format);
  return std::make_unique<RequiredReader>(format);
}

}  // namespace rs::api
