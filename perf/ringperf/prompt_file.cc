#include "perf/ringperf/prompt_file.h"

#include <simdjson.h>

#include <fstream>
#include <stdexcept>

#include <fmt/format.h>

namespace rs::ringperf {

std::vector<PromptLine> read_prompt_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(fmt::format("{}: cannot open the prompt file", path));
  std::vector<PromptLine> lines;
  simdjson::dom::parser parser;
  std::string text;
  for (int number = 1; std::getline(in, text); ++number) {
    const auto fail = [&](std::string_view why) {
      throw std::runtime_error(fmt::format("{}:{}: {}", path, number, why));
    };
    if (text.find_first_not_of(" \t\r") == std::string::npos) continue;
    simdjson::dom::object object;
    if (parser.parse(text).get(object)) fail("not a JSON object");
    PromptLine line;
    bool has_prompt = false;
    for (const auto field : object) {
      if (field.key == "prompt") {
        std::string_view prompt;
        if (field.value.get(prompt)) fail("\"prompt\" must be a string");
        line.prompt = std::string(prompt);
        has_prompt = true;
      } else if (field.key == "messages") {
        simdjson::dom::array messages;
        if (field.value.get(messages) || messages.size() == 0) fail("\"messages\" must be a non-empty array");
        for (const auto message : messages) {
          std::string_view role;
          if (message.at_key("role").get(role)) fail("every message needs a \"role\" string");
          if (message.at_key("content").error()) fail("every message needs a \"content\"");
        }
        line.messages_json = simdjson::minify(messages);
      } else if (field.key == "max_tokens") {
        int64_t max_tokens;
        if (field.value.get(max_tokens) || max_tokens < 1 || max_tokens > 1'000'000) {
          fail("\"max_tokens\" must be an integer from 1 to 1000000");
        }
        line.max_tokens = static_cast<int>(max_tokens);
      }
    }
    if (has_prompt == !line.messages_json.empty()) fail("needs exactly one of \"prompt\" and \"messages\"");
    lines.push_back(std::move(line));
  }
  if (lines.empty()) throw std::runtime_error(fmt::format("{}: no prompts in the file", path));
  return lines;
}

}  // namespace rs::ringperf
