#pragma once
// Structured output on the request path: a model's grammar compiler, and a
// request's output constraint compiled into the sampling parameters its
// choices share. An invalid or unsupported constraint is a 400 naming the
// field it came from and what is wrong with it, never a free answer.
#include <memory>

#include "core/api/openai_request.h"
#include "core/grammar/grammar_compiler.h"
#include "core/tokenizer/tokenizer.h"

namespace rs::api {

// The compiler for `tokenizer`'s vocabulary: tokens spell their pieces
// (control tokens spell nothing), and the model's end-of-generation tokens
// end a matched grammar. The tokenizer must outlive it.
std::shared_ptr<grammar::GrammarCompiler> grammar_compiler_for(const tokenizer::Tokenizer& tokenizer);

// Sets request.sampling.constraint from request.constraint (nothing when it has none).
// Throws ApiError 400 with param = the constraint's field.
void compile_constraint(CompletionRequest& request, grammar::GrammarCompiler& compiler);

}  // namespace rs::api
