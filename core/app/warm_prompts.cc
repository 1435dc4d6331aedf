#include "core/app/warm_prompts.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>

#include "core/api/prompt.h"

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

}  // namespace

std::vector<std::vector<tokenizer::TokenId>> read_warm_prompts(const std::string& path,
                                                               const api::ServingModel& model) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
  std::vector<std::vector<tokenizer::TokenId>> prompts;
  std::string line;
  for (size_t number = 1; std::getline(in, line); ++number) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    try {
      for (api::PreparedPrompt& p : prompts_of(line.substr(line.find_first_not_of(" \t")), model)) {
        prompts.push_back(std::move(p.tokens));
      }
    } catch (const api::ApiError& e) {
      throw std::runtime_error(fmt::format("{}:{}: {}{}", path, number, e.what(),
                                           e.param().empty() ? "" : fmt::format(" ({})", e.param())));
    }
  }
  if (in.bad()) throw std::runtime_error(fmt::format("{}: cannot read: {}", path, std::strerror(errno)));
  return prompts;
}

}  // namespace rs
