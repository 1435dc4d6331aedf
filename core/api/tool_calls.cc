#include "core/api/tool_calls.h"

#include <simdjson.h>

#include <array>
#include <random>

#include "core/api/json_value_end.h"

namespace rs::api {
namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;

constexpr std::array<std::string_view, 3> kFormatNames = {"hermes", "llama3_json", "mistral"};

constexpr std::string_view kHermesOpen = "<tool_call>";
constexpr std::string_view kHermesClose = "</tool_call>";
constexpr std::string_view kPythonTag = "<|python_tag|>";
constexpr std::string_view kMistralOpen = "[TOOL_CALLS]";
constexpr std::array<std::string_view, 2> kHermesMarkers = {kHermesOpen, kHermesClose};

std::string_view trim_start(std::string_view text) {
  while (!text.empty() && is_json_space(text.front())) text.remove_prefix(1);
  return text;
}

std::string_view trim_end(std::string_view text) {
  while (!text.empty() && is_json_space(text.back())) text.remove_suffix(1);
  return text;
}

std::string random_alphanumerics(size_t count) {
  static constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  thread_local std::mt19937_64 random{std::random_device{}()};
  std::uniform_int_distribution<size_t> pick(0, kAlphabet.size() - 1);
  std::string out(count, '\0');
  for (char& c : out) c = kAlphabet[pick(random)];
  return out;
}

// How much of `text` can go out as content for sure: all but a tail that may be the start of `marker`, and the
// whitespace before that tail (whitespace next to a call is not content).
size_t sure_content(std::string_view text, std::string_view marker) {
  size_t held_from = text.size();
  for (size_t n = std::min(marker.size() - 1, text.size()); n > 0; --n) {
    if (marker.starts_with(text.substr(text.size() - n))) {
      held_from = text.size() - n;
      break;
    }
  }
  while (held_from > 0 && is_json_space(text[held_from - 1])) --held_from;
  return held_from;
}

// A call as the model writes it: {"name": "…", "arguments": {…}} (Llama: "parameters").
std::optional<ToolCall> call_of(element value) {
  std::string_view name;
  if (value.type() != element_type::OBJECT || value["name"].get(name) || name.empty()) return std::nullopt;
  element arguments;
  if (value["arguments"].get(arguments) && value["parameters"].get(arguments)) return std::nullopt;
  if (arguments.type() != element_type::OBJECT) return std::nullopt;
  return ToolCall{"", std::string(name), simdjson::minify(arguments)};
}

// The calls of one call's JSON: an object, or an array of them; none when it is not that.
std::optional<std::vector<ToolCall>> calls_of(std::string_view json) {
  thread_local simdjson::dom::parser parser;
  element root;
  if (parser.parse(json.data(), json.size()).get(root)) return std::nullopt;
  std::vector<ToolCall> calls;
  if (root.type() != element_type::ARRAY) {
    std::optional<ToolCall> call = call_of(root);
    if (!call) return std::nullopt;
    calls.push_back(std::move(*call));
    return calls;
  }
  const simdjson::dom::array items = root.get_array().value_unsafe();
  for (const element item : items) {
    std::optional<ToolCall> call = call_of(item);
    if (!call) return std::nullopt;
    calls.push_back(std::move(*call));
  }
  return calls;
}

// tool_choice "auto": the model's own format. Text goes out as content until a marker shows a call may start;
// the call's text is held until it is whole, then read as JSON.
class NativeReader final : public ToolCallReader {
 public:
  NativeReader(ToolCallFormat format, uint32_t max_calls)
      : format_(format), max_calls_(max_calls), state_(format == ToolCallFormat::llama3_json ? State::start
                                                                                              : State::text) {}

  void push(std::string_view text, ToolCallDelta& out) override {
    pending_ += text;
    read(out, false);
  }
  void finish(ToolCallDelta& out) override { read(out, true); }
  bool finish_as_tool_calls() const override { return calls_ > 0; }

 private:
  enum class State {
    start,          // llama3_json, before the first byte that is not whitespace: calls only start here
    text,           // content; hermes and mistral watch for their opening marker
    call,           // inside a call's text (its opening marker, if any, consumed)
    between_calls,  // llama3_json, after a call: ";" and another, or the end
    plain,          // llama3_json, the output is not calls: everything is content
  };

  void read(ToolCallDelta& out, bool at_end) {
    while (true) {
      switch (state_) {
        case State::start:
          if (!read_start(at_end)) return;
          break;
        case State::text:
          if (!read_text(out, at_end)) return;
          break;
        case State::call:
          if (!read_call(out, at_end)) return;
          break;
        case State::between_calls:
          if (!read_between_calls(at_end)) return;
          break;
        case State::plain:
          add_content(out, pending_);
          pending_.clear();
          return;
      }
    }
  }

  // Each read_* returns false when it needs more text (or, at the end, has taken everything).
  bool read_start(bool at_end) {
    const std::string_view rest = trim_start(pending_);
    const bool may_be_tag = rest.size() < kPythonTag.size() && kPythonTag.starts_with(rest);
    if (may_be_tag && !at_end) return false;
    if (rest.starts_with(kPythonTag)) {
      opened_with_ = kPythonTag;
      pending_.erase(0, pending_.size() - rest.size() + kPythonTag.size());
      state_ = State::call;
    } else {
      state_ = rest.starts_with('{') ? State::call : State::plain;  // the call's whitespace stays in pending_
    }
    return true;
  }

  bool read_text(ToolCallDelta& out, bool at_end) {
    const std::string_view open = format_ == ToolCallFormat::hermes ? kHermesOpen : kMistralOpen;
    const size_t at = pending_.find(open);
    if (at == std::string::npos) {
      const size_t sure = at_end ? pending_.size() : sure_content(pending_, open);
      add_content(out, std::string_view(pending_).substr(0, sure));
      pending_.erase(0, sure);
      return false;
    }
    add_content(out, trim_end(std::string_view(pending_).substr(0, at)));
    opened_with_ = open;
    pending_.erase(0, at + open.size());
    state_ = State::call;
    return true;
  }

  bool read_call(ToolCallDelta& out, bool at_end) {
    size_t body_end = 0, call_end = 0;  // in pending_: where the call's JSON ends, and its text
    bool whole = true;                  // json formats: the value ended (not cut short, nor not JSON at all)
    if (format_ == ToolCallFormat::hermes) {
      const size_t close = pending_.find(kHermesClose, scanned_);
      if (close == std::string::npos) {
        if (!at_end) {
          scanned_ = pending_.size() - std::min(pending_.size(), kHermesClose.size() - 1);
          return false;
        }
        body_end = call_end = pending_.size();  // unclosed at the end: still a call if its JSON is
      } else {
        body_end = close;
        call_end = close + kHermesClose.size();
      }
    } else {
      scanned_ = std::max(scanned_, pending_.size() - trim_start(pending_).size());
      scanned_ += json_end_.feed(std::string_view(pending_).substr(scanned_));
      if (at_end) json_end_.end_of_text();
      if (!json_end_.done() && !json_end_.invalid() && !at_end) return false;
      body_end = call_end = scanned_;
      whole = json_end_.done();
    }
    const std::string_view call_text = std::string_view(pending_).substr(0, call_end);
    std::optional<std::vector<ToolCall>> calls;
    if (whole) calls = calls_of(call_text.substr(0, body_end));
    if (calls) {
      for (ToolCall& call : *calls) add_call(out, std::move(call));
      after_call_ = true;
    } else {
      add_content(out, opened_with_);
      add_content(out, call_text);
    }
    pending_.erase(0, call_end);
    json_end_ = {};
    scanned_ = 0;
    opened_with_ = {};
    if (format_ != ToolCallFormat::llama3_json) {
      state_ = State::text;
    } else {
      state_ = calls ? State::between_calls : State::plain;
    }
    return true;
  }

  bool read_between_calls(bool at_end) {
    const std::string_view rest = trim_start(pending_);
    if (rest.empty()) {
      if (at_end) pending_.clear();
      return false;
    }
    if (rest.front() == ';') {
      pending_.erase(0, pending_.size() - rest.size() + 1);
      state_ = State::call;
    } else {
      state_ = State::plain;
    }
    return true;
  }

  void add_content(ToolCallDelta& out, std::string_view text) {
    if (after_call_) {
      text = trim_start(text);
      if (text.empty()) return;
      after_call_ = false;
    }
    out.content += text;
  }

  void add_call(ToolCallDelta& out, ToolCall call) {
    if (calls_ == max_calls_) return;
    const uint32_t index = calls_++;
    out.calls.push_back({index, new_tool_call_id(format_), std::move(call.name), ""});
    out.calls.push_back({index, "", "", std::move(call.arguments)});
  }

  const ToolCallFormat format_;
  const uint32_t max_calls_;
  State state_;
  std::string pending_;           // text read and not yet handed out
  std::string_view opened_with_;  // the marker that opened the call being read
  JsonValueEnd json_end_;         // llama3_json and mistral: where the call's JSON ends
  size_t scanned_ = 0;            // bytes of pending_ already searched for the call's end
  bool after_call_ = false;       // whitespace right after a call is not content
  uint32_t calls_ = 0;
};

}  // namespace

std::string_view tool_call_format_name(ToolCallFormat format) { return kFormatNames[size_t(format)]; }

std::optional<ToolCallFormat> tool_call_format_named(std::string_view name) {
  for (size_t i = 0; i < kFormatNames.size(); ++i) {
    if (kFormatNames[i] == name) return ToolCallFormat(i);
  }
  return std::nullopt;
}

std::vector<std::string> tool_call_format_names() { return {kFormatNames.begin(), kFormatNames.end()}; }

ToolCallFormat tool_call_format_of(std::string_view chat_template_source) {
  if (chat_template_source.find(kHermesOpen) != std::string_view::npos) return ToolCallFormat::hermes;
  if (chat_template_source.find(kMistralOpen) != std::string_view::npos) return ToolCallFormat::mistral;
  // Llama 3.1 names <|python_tag|>; 3.2 only its "ipython" role, which carries the tools' results.
  if (chat_template_source.find(kPythonTag) != std::string_view::npos ||
      chat_template_source.find("ipython<|end_header_id|>") != std::string_view::npos) {
    return ToolCallFormat::llama3_json;
  }
  return ToolCallFormat::hermes;
}

std::span<const std::string_view> tool_call_markers(ToolCallFormat format) {
  switch (format) {
    case ToolCallFormat::hermes: return kHermesMarkers;
    case ToolCallFormat::llama3_json: return {&kPythonTag, 1};
    case ToolCallFormat::mistral: return {&kMistralOpen, 1};
  }
  return {};
}

std::string new_tool_call_id(ToolCallFormat format) {
  if (format == ToolCallFormat::mistral) return random_alphanumerics(9);
  return "call_" + random_alphanumerics(24);
}

std::unique_ptr<ToolCallReader> native_tool_call_reader(ToolCallFormat format, uint32_t max_calls) {
  return std::make_unique<NativeReader>(format, max_calls);
}

void add_fragment(std::vector<ToolCall>& calls, const ToolCallFragment& fragment) {
  if (fragment.index == calls.size()) calls.push_back({fragment.id, fragment.name, ""});
  calls[fragment.index].arguments += fragment.arguments;
}

void accumulate(ToolCallOutput& output, const ToolCallDelta& delta) {
  output.content += delta.content;
  for (const ToolCallFragment& fragment : delta.calls) add_fragment(output.calls, fragment);
}

ToolCallOutput read_tool_calls(ToolCallReader& reader, std::string_view text) {
  ToolCallDelta delta;
  reader.push(text, delta);
  reader.finish(delta);
  ToolCallOutput output;
  accumulate(output, delta);
  return output;
}

}  // namespace rs::api
