#include "core/api/structured_output.h"

#include <fmt/format.h>

#include "core/grammar/matcher.h"
#include "core/tokenizer/special_tokens.h"

namespace rs::api {

std::shared_ptr<grammar::GrammarCompiler> grammar_compiler_for(const tokenizer::Tokenizer& tokenizer) {
  auto token_bytes = [&tokenizer] {
    std::vector<std::string> bytes(tokenizer.vocab().size());
    for (size_t id = 0; id < bytes.size(); ++id) bytes[id] = tokenizer.piece(tokenizer::TokenId(id));
    return bytes;
  };
  return std::make_shared<grammar::GrammarCompiler>(std::move(token_bytes),
                                                    tokenizer::end_of_generation_tokens(tokenizer.vocab()));
}

void compile_constraint(CompletionRequest& request, grammar::GrammarCompiler& compiler) {
  const OutputConstraint& c = request.constraint;
  if (!c.kind) return;
  try {
    request.sampling.constraint = std::make_shared<grammar::GrammarConstraint>(compiler.compile(*c.kind, c.text));
  } catch (const grammar::GrammarError& e) {
    throw ApiError(400, fmt::format("\"{}\" cannot be used: {}", c.param, e.what()), c.param);
  }
}

}  // namespace rs::api
