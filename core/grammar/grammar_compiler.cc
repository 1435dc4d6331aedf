#include "core/grammar/grammar_compiler.h"

#include <simdjson.h>

#include "core/grammar/gbnf.h"
#include "core/grammar/json_schema.h"
#include "core/grammar/regex.h"

namespace rs::grammar {
namespace {

constexpr size_t kMaxChoices = 1024;

Grammar choice_grammar(std::string_view json) {
  simdjson::dom::parser parser;
  simdjson::dom::array array;
  if (parser.parse(json.data(), json.size()).get_array().get(array) != simdjson::SUCCESS) {
    throw GrammarError("the choices must be a JSON array of strings");
  }
  if (array.size() == 0 || array.size() > kMaxChoices) {
    throw GrammarError("the choices must be between 1 and " + std::to_string(kMaxChoices) + " strings");
  }
  Grammar g;
  std::vector<ExprId> options;
  for (const simdjson::dom::element item : array) {
    std::string_view text;
    if (item.get_string().get(text) != simdjson::SUCCESS) throw GrammarError("every choice must be a string");
    options.push_back(g.literal(text));
  }
  g.set_root(g.add_rule("root", g.choice(std::move(options))));
  return g;
}

}  // namespace

Grammar grammar_from(SourceKind kind, std::string_view text) {
  switch (kind) {
    case SourceKind::json_schema: return json_schema_grammar(text);
    case SourceKind::json_object: return json_object_grammar();
    case SourceKind::regex: return regex_grammar(text);
    case SourceKind::choice: return choice_grammar(text);
    case SourceKind::gbnf: return parse_gbnf(text);
  }
  throw GrammarError("unknown kind of grammar");
}

GrammarCompiler::GrammarCompiler(std::function<std::vector<std::string>()> token_bytes, std::vector<TokenId> end_tokens,
                                 GrammarCacheLimits limits)
    : token_bytes_(std::move(token_bytes)),
      end_tokens_(std::move(end_tokens)),
      limits_(limits),
      masks_(std::make_shared<CacheBudget>(limits.mask_bytes)) {}

std::shared_ptr<const TokenTrie> GrammarCompiler::trie() {
  if (!trie_) trie_ = std::make_shared<const TokenTrie>(token_bytes_());
  return trie_;
}

std::shared_ptr<const CompiledGrammar> GrammarCompiler::compile(SourceKind kind, std::string_view text) {
  std::string key(1, char(kind));
  key += text;
  {
    const std::lock_guard lock(mutex_);
    if (const auto it = compiled_.find(key); it != compiled_.end()) {
      recent_.splice(recent_.begin(), recent_, it->second.recent);
      return it->second.grammar;
    }
  }
  // Compiled outside the lock: one slow schema does not hold up another shard's.
  Automaton automaton = Automaton::compile(grammar_from(kind, text));
  const size_t bytes = key.size() + automaton.bytes();
  const std::lock_guard lock(mutex_);
  auto compiled = std::make_shared<const CompiledGrammar>(std::move(automaton), trie(), end_tokens_, masks_);
  // Another shard's compile of the same text, kept first, is the one to share (with its masks).
  if (const auto it = compiled_.find(key); it != compiled_.end()) return it->second.grammar;
  if (bytes > limits_.grammar_bytes) return compiled;  // too large to keep
  const auto it = compiled_.emplace(std::move(key), Kept{compiled, {}, bytes}).first;
  it->second.recent = recent_.insert(recent_.begin(), &it->first);
  for (kept_bytes_ += bytes; kept_bytes_ > limits_.grammar_bytes;) {
    const auto oldest = compiled_.find(*recent_.back());
    kept_bytes_ -= oldest->second.bytes;
    recent_.pop_back();
    compiled_.erase(oldest);
  }
  return compiled;
}

size_t GrammarCompiler::kept_bytes() const {
  const std::lock_guard lock(mutex_);
  return kept_bytes_;
}

}  // namespace rs::grammar
