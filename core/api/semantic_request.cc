#include "core/api/semantic_request.h"

#include <fmt/format.h>
#include <simdjson.h>
#include <xxhash.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <iterator>
#include <vector>

namespace rs::api {
namespace {

bool is_ascii_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_letter(char c) { return std::isalpha(static_cast<unsigned char>(c)) || static_cast<unsigned char>(c) >= 0x80; }

uint64_t xxh3(std::string_view text) { return XXH3_64bits(text.data(), text.size()); }

std::string lower(std::string_view word) {
  std::string out(word);
  for (char& c : out) c = char(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

constexpr std::array<std::string_view, 12> kNegations = {"not",     "no",      "never", "none",   "nobody", "nothing",
                                                         "neither", "nor",     "nowhere", "cannot", "without", "nope"};
constexpr std::array<std::string_view, 32> kNumberWords = {
    "zero",    "one",      "two",     "three",    "four",    "five",    "six",       "seven",
    "eight",   "nine",     "ten",     "eleven",   "twelve",  "thirteen", "fourteen", "fifteen",
    "sixteen", "seventeen", "eighteen", "nineteen", "twenty", "thirty",  "forty",     "fifty",
    "sixty",   "seventy",  "eighty",  "ninety",   "hundred", "thousand", "million",  "billion"};

// The text of the chat's last message when it is the user's (its content a string or text parts), else nullopt.
std::optional<std::string> last_user_message(simdjson::dom::array messages, size_t& count) {
  count = 0;
  simdjson::dom::element last;
  for (const simdjson::dom::element message : messages) {
    last = message;
    ++count;
  }
  std::string_view role;
  if (count == 0 || last["role"].get(role) || role != "user") return std::nullopt;
  simdjson::dom::element content;
  if (last["content"].get(content)) return std::nullopt;
  std::string_view text;
  if (!content.get(text)) return std::string(text);
  simdjson::dom::array parts;
  if (content.get(parts)) return std::nullopt;
  std::string joined;
  for (const simdjson::dom::element part : parts) {
    std::string_view type, part_text;
    if (part["type"].get(type) || type != "text" || part["text"].get(part_text)) return std::nullopt;  // images…
    if (!joined.empty()) joined.push_back('\n');
    joined.append(part_text);
  }
  return joined;
}

// Every field but the last user message that changes what the model answers, in one fixed order.
std::string canonical_context(const CompletionRequest& r, std::string_view model_id, std::string_view earlier) {
  const sampler::SamplingParams& s = r.sampling;
  std::string out;
  auto to = std::back_inserter(out);
  // cache_salt too: tenants who keep their prefix caches apart keep their answers apart.
  fmt::format_to(to, "model={}\nendpoint={}\nearlier={}\ntools={}\ngeneration_prompt={}\nskip_special={}\nsalt={}\n",
                 model_id, r.endpoint == Endpoint::chat ? "chat" : "completion", earlier, r.tools_json,
                 r.add_generation_prompt, r.skip_special_tokens, r.cache_salt);
  fmt::format_to(to, "temperature={}\ntop_k={}\ntop_p={}\nmin_p={}\nrepetition={}\npresence={}\nfrequency={}\n",
                 s.temperature, s.top_k, s.top_p, s.min_p, s.repetition_penalty, s.presence_penalty,
                 s.frequency_penalty);
  fmt::format_to(to, "seed={}\nmax_tokens={}\nignore_eos={}\nlogit_bias=", s.seed ? fmt::format("{}", *s.seed) : "-",
                 s.max_tokens ? fmt::format("{}", *s.max_tokens) : "-", s.ignore_eos);
  for (const auto& [token, bias] : s.logit_bias) fmt::format_to(to, "{}:{},", token, bias);
  out.append("\nstop_token_ids=");
  for (const auto token : s.stop_token_ids) fmt::format_to(to, "{},", token);
  out.append("\nstop=");
  for (const std::string& stop : s.stop) fmt::format_to(to, "{}:{},", stop.size(), stop);  // lengths: no ambiguity
  // An answer is only ever valid for the constraint it was generated under.
  if (const OutputConstraint& c = r.constraint; c.kind) {
    fmt::format_to(to, "\nconstraint={}:{}:{}", int(*c.kind), c.text.size(), c.text);
  }
  return out;
}

}  // namespace

std::string normalize_whitespace(std::string_view text) {
  std::string out;
  bool space = false;
  for (const char c : text) {
    if (is_ascii_space(c)) {
      space = !out.empty();
      continue;
    }
    if (space) out.push_back(' ');
    space = false;
    out.push_back(c);
  }
  return out;
}

uint64_t semantic_guard(std::string_view message) {
  std::vector<std::string> numbers, negations, names;
  bool sentence_start = true;
  for (size_t i = 0; i < message.size();) {
    const char c = message[i];
    if (is_digit(c)) {  // 1,000.5 → "1000.5": separators between digits only
      std::string number;
      while (i < message.size() &&
             (is_digit(message[i]) || ((message[i] == ',' || message[i] == '.') && i + 1 < message.size() &&
                                       is_digit(message[i + 1]) && !number.empty()))) {
        if (message[i] != ',') number.push_back(message[i]);
        ++i;
      }
      numbers.push_back(std::move(number));
      sentence_start = false;
      continue;
    }
    if (is_letter(c)) {
      const size_t begin = i;
      while (i < message.size() && (is_letter(message[i]) || message[i] == '\'')) ++i;
      const std::string_view word = message.substr(begin, i - begin);
      const std::string lowered = lower(word);
      if (lowered.ends_with("n't") || std::ranges::find(kNegations, lowered) != kNegations.end()) {
        negations.emplace_back("not");  // "isn't", "is not" and "never" all turn the question round
      } else if (std::ranges::find(kNumberWords, lowered) != kNumberWords.end()) {
        numbers.push_back(lowered);
      } else if (std::isupper(static_cast<unsigned char>(word[0])) && !sentence_start && word != "I") {
        names.push_back(lowered);
      }
      sentence_start = false;
      continue;
    }
    if (c == '.' || c == '!' || c == '?' || c == '\n') sentence_start = true;
    ++i;
  }
  std::ranges::sort(numbers);
  std::ranges::sort(negations);
  std::string canonical;
  for (const auto* list : {&numbers, &negations, &names}) {
    for (const std::string& item : *list) canonical.append(item).push_back(',');
    canonical.push_back('|');
  }
  return xxh3(canonical);
}

std::optional<SemanticQuery> semantic_query(const CompletionRequest& request, std::string_view model_id,
                                            bool no_cache_header) {
  const sampler::SamplingParams& s = request.sampling;
  const bool deterministic = s.temperature == 0.0f || s.seed.has_value();
  // A stored answer is text: it cannot answer, nor come from, a request whose answer may be tool calls.
  const bool may_call_tools = request.tool_choice.kind != ToolChoice::Kind::none;
  if (!request.semantic_cache || no_cache_header || !deterministic || request.n != 1 || s.logprobs || request.echo ||
      may_call_tools) {
    return std::nullopt;
  }
  SemanticQuery query;
  std::string earlier;
  if (request.endpoint == Endpoint::chat) {
    simdjson::dom::parser parser;
    simdjson::dom::array messages;
    if (parser.parse(request.messages_json).get(messages)) return std::nullopt;
    size_t count = 0;
    std::optional<std::string> message = last_user_message(messages, count);
    if (!message) return std::nullopt;
    query.message = std::move(*message);
    size_t index = 0;
    for (const simdjson::dom::element m : messages) {
      if (++index == count) break;
      earlier += simdjson::minify(m);
      earlier.push_back('\n');
    }
  } else {
    if (request.prompts.size() != 1 || request.prompts[0].is_tokens) return std::nullopt;
    query.message = request.prompts[0].text;
  }
  query.context = xxh3(canonical_context(request, model_id, earlier));
  query.exact = xxh3(normalize_whitespace(query.message));
  query.guard = semantic_guard(query.message);
  return query;
}

}  // namespace rs::api
