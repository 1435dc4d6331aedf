// libFuzzer target: arbitrary bytes as the body of every OpenAI-compatible endpoint, each taken as far as its
// handler takes it on the shard before the engine: /v1/chat/completions and /v1/completions (parsed, sampling
// validated against the vocabulary, the output constraint compiled, the prompts rendered by the chat template and
// tokenized, the semantic cache's key), /v1/embeddings, /tokenize (rendered and tokenized) and /detokenize. The model
// is Llama 3.2's vocabulary and chat template from ../shared, or a small built-in vocabulary and ChatML where it is
// absent. A refusal must be an ApiError with a 4xx status; anything else escaping, or a crash, fails (ASan + UBSan).
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/api/embeddings.h"
#include "core/api/openai_request.h"
#include "core/api/prompt.h"
#include "core/api/semantic_request.h"
#include "core/api/serving_model.h"
#include "core/api/structured_output.h"
#include "core/base/log.h"
#include "core/template/chat_template.h"
#include "core/tokenizer/tokenizer.h"
#include "core/tokenizer/utf8.h"
#include "tests/fuzz/fuzz_vocabularies.h"

namespace {

using namespace rs;
using namespace rs::api;

void check(bool ok) {
  if (!ok) __builtin_trap();
}

tokenizer::Vocab model_vocab() {
  const std::optional<std::string> path = fuzz::shared_file("tokenizers/llama3.2-vocab.gguf");
  return path ? tokenizer::read_vocab(*path) : fuzz::small_bpe_vocab();
}

chat::ChatTemplate model_template() {
  const std::optional<std::string> path = fuzz::shared_file("templates/llama3.2.jinja");
  if (!path) return chat::ChatTemplate::builtin("chatml");
  std::ifstream in(*path, std::ios::binary);
  return chat::ChatTemplate::parse(std::string(std::istreambuf_iterator<char>(in), {}), "llama3.2.jinja");
}

struct Model {
  tokenizer::Tokenizer tokenizer{model_vocab()};
  ServingModel serving;

  Model() {
    log::set_level(log::Level::error);  // a template's failure on odd messages is a warning per input
    serving.id = "fuzz";
    serving.tokenizer = &tokenizer;
    serving.chat_template = model_template();
    serving.ctx_size = 4096;
    serving.grammars = grammar_compiler_for(tokenizer);
  }
};

// Api::complete up to Completion::start.
void complete(const Model& model, std::string_view body, Endpoint endpoint) {
  CompletionRequest request = parse_completion_request(body, endpoint);
  check(request.n >= 1 && request.n <= kMaxChoices && request.prompts.size() <= kMaxPrompts);
  if (request.sampling.validate(model.tokenizer.vocab().size())) return;
  compile_constraint(request, *model.serving.grammars);
  for (const PreparedPrompt& prompt : prepare_prompts(request, model.serving)) {
    check(!prompt.tokens.empty() && prompt.tokens.size() < model.serving.ctx_size);
    for (const tokenizer::TokenId id : prompt.tokens) check(id >= 0 && size_t(id) < model.tokenizer.vocab().size());
  }
  semantic_query(request, model.serving.id, false);
}

// Api::tokenize and Api::detokenize, without the reply.
void tokenize(const Model& model, std::string_view body) {
  const TokenizeRequest request = parse_tokenize_request(body);
  if (request.prompt) {
    model.tokenizer.encode(*request.prompt, request.add_special_tokens, true);
  } else {
    tokenize_chat(model.tokenizer,
                  render_chat(model.serving, request.messages_json, "", request.add_generation_prompt));
  }
}

void detokenize(const Model& model, std::string_view body) {
  check(
      tokenizer::is_valid_utf8(model.tokenizer.decode(parse_detokenize_request(body, model.tokenizer.vocab().size()))));
}

template <typename Handler>
void refused_cleanly(Handler handler) {
  try {
    handler();
  } catch (const ApiError& e) {
    check(e.status() >= 400 && e.status() < 500);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const Model model;
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  refused_cleanly([&] { complete(model, body, Endpoint::chat); });
  refused_cleanly([&] { complete(model, body, Endpoint::completion); });
  refused_cleanly([&] {
    const EmbeddingRequest request = parse_embedding_request(body);
    check(!request.inputs.empty() && request.inputs.size() <= kMaxEmbeddingInputs);
  });
  refused_cleanly([&] { tokenize(model, body); });
  refused_cleanly([&] { detokenize(model, body); });
  return 0;
}
