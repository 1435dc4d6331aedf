#include "core/app/warm_prompts.h"

#include <fmt/format.h>
#include <simdjson.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <stdexcept>
#include <tuple>
#include <utility>

#include "core/api/prompt.h"
#include "core/base/json_write.h"

namespace rs {
namespace {

// The line as the request body the API would get for it.
api::CompletionRequest request_of(std::string_view line) {
  if (line.starts_with('{')) return api::parse_completion_request(line, api::Endpoint::chat);
  return api::parse_completion_request(fmt::format("{{\"prompt\":{}}}", line), api::Endpoint::completion);
}

std::vector<api::PreparedPrompt> prompts_of(std::string_view line, const api::ServingModel& model) {
  const api::CompletionRequest request = request_of(line);
  // A snapshot's chains start from the model's salt; a tenant's salt would need its own.
  if (!request.cache_salt.empty()) throw api::ApiError(400, "cache_salt is not supported in a snapshot", "cache_salt");
  return api::prepare_prompts(request, model);
}

// An optional string field of `object`.
std::optional<std::string_view> string_field(simdjson::dom::object object, std::string_view field) {
  simdjson::dom::element value;
  if (object[field].get(value)) return std::nullopt;
  std::string_view text;
  if (value.get(text)) throw api::ApiError(400, fmt::format("\"{}\" must be a string", field), std::string(field));
  return text;
}

// The request a line stands for, and its "answer" if it gives one.
std::pair<api::CompletionRequest, std::optional<std::string>> question_of(std::string_view line) {
  simdjson::dom::parser parser;
  simdjson::dom::object object;
  // Not an object: the API's parser says what is wrong with it.
  if (parser.parse(line.data(), line.size()).get(object)) {
    return {api::parse_completion_request(line, api::Endpoint::chat), std::nullopt};
  }
  std::optional<std::string> answer;
  if (const auto text = string_field(object, "answer")) answer = std::string(*text);
  const std::optional<std::string_view> question = string_field(object, "question");
  if (!question) return {api::parse_completion_request(line, api::Endpoint::chat), answer};  // "answer": unknown
  for (const auto field : object) {
    if (field.key != "question" && field.key != "answer") {
      throw api::ApiError(400,
                          fmt::format("a {{\"question\":…}} line has nothing but \"answer\" beside it: \"{}\" "
                                      "belongs in a request body with \"messages\" instead",
                                      field.key),
                          std::string(field.key));
    }
  }
  return {api::parse_completion_request(
              fmt::format(R"({{"messages":[{{"role":"user","content":{}}}],"temperature":0}})", json::quote(*question)),
              api::Endpoint::chat),
          answer};
}

// The checks Api::complete makes before it looks a request up in the semantic cache.
WarmQuestion checked_question(std::string_view line, const api::ServingModel& model) {
  WarmQuestion q;
  std::tie(q.request, q.answer) = question_of(line);
  if (!q.request.model.empty() && q.request.model != model.id) {
    throw api::ApiError(400, fmt::format("the model `{}` is not the `{}` being warmed (--model-name)",
                                         q.request.model, model.id), "model");
  }
  if (const auto error = q.request.sampling.validate(model.tokenizer->vocab().size())) {
    throw api::ApiError(400, *error, error->substr(0, error->find_first_of(" :")));
  }
  q.prompt = std::move(api::prepare_prompts(q.request, model).at(0).tokens);
  std::optional<api::SemanticQuery> query = api::semantic_query(q.request, model.id, false);
  if (!query) {
    throw api::ApiError(400, "the semantic cache passes this request by: it needs temperature 0 or a seed, one "
                             "choice (n 1), no logprobs, a last message from the user, and no \"cache\": false");
  }
  q.query = std::move(*query);
  return q;
}

// Calls `take(line, number)` for each non-blank line of `path`, its leading blanks cut. An ApiError from it
// becomes a std::runtime_error naming the file, the line and the field.
template <typename Take>
void for_each_line(const std::string& path, Take take) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
  std::string line;
  for (size_t number = 1; std::getline(in, line); ++number) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    try {
      take(std::string_view(line).substr(line.find_first_not_of(" \t")), number);
    } catch (const api::ApiError& e) {
      throw std::runtime_error(fmt::format("{}:{}: {}{}", path, number, e.what(),
                                           e.param().empty() ? "" : fmt::format(" ({})", e.param())));
    }
  }
  if (in.bad()) throw std::runtime_error(fmt::format("{}: cannot read: {}", path, std::strerror(errno)));
}

}  // namespace

std::vector<std::vector<tokenizer::TokenId>> read_warm_prompts(const std::string& path,
                                                               const api::ServingModel& model) {
  std::vector<std::vector<tokenizer::TokenId>> prompts;
  for_each_line(path, [&](std::string_view line, size_t) {
    for (api::PreparedPrompt& p : prompts_of(line, model)) prompts.push_back(std::move(p.tokens));
  });
  return prompts;
}

std::vector<WarmQuestion> read_warm_questions(const std::string& path, const api::ServingModel& model) {
  std::vector<WarmQuestion> questions;
  std::map<std::pair<uint64_t, uint64_t>, size_t> lines;  // (context, exact) → the line that has it
  for_each_line(path, [&](std::string_view line, size_t number) {
    WarmQuestion q = checked_question(line, model);
    q.line = number;
    if (const auto [at, added] = lines.try_emplace({q.query.context, q.query.exact}, number); !added) {
      throw api::ApiError(400, fmt::format("the same conversation and last user message as line {}: the cache "
                                           "keeps one answer for them", at->second));
    }
    questions.push_back(std::move(q));
  });
  return questions;
}

}  // namespace rs
