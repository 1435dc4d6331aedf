#pragma once
// What a request's constraint is written in, compiled once per text for one
// model's vocabulary: the most recently used grammars stay compiled (with
// their caches of masks), so a schema sent again costs nothing to compile.
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/grammar/compiled_grammar.h"
#include "core/grammar/grammar.h"

namespace rs::grammar {

enum class SourceKind : uint8_t {
  json_schema,  // a JSON Schema document
  json_object,  // any JSON object (the text is ignored)
  regex,        // a regular expression the whole output matches
  choice,       // a JSON array of strings: the output is one of them
  gbnf,         // llama.cpp's grammar notation
};

// The grammar `text` says in its notation; GrammarError when it is invalid or unsupported.
Grammar grammar_from(SourceKind kind, std::string_view text);

class GrammarCompiler {
 public:
  // `token_bytes` gives what every token of the vocabulary spells (empty for
  // control tokens); it is called once, on the first compile, so a server
  // that never constrains output never builds the trie. `end_tokens` end a
  // sequence once its grammar is matched.
  GrammarCompiler(std::function<std::vector<std::string>()> token_bytes, std::vector<TokenId> end_tokens,
                  size_t capacity = 64);

  // Safe from any thread. Throws GrammarError.
  std::shared_ptr<const CompiledGrammar> compile(SourceKind kind, std::string_view text);

 private:
  std::shared_ptr<const TokenTrie> trie();

  std::function<std::vector<std::string>()> token_bytes_;
  std::vector<TokenId> end_tokens_;
  size_t capacity_;
  std::mutex mutex_;
  std::shared_ptr<const TokenTrie> trie_;
  std::list<std::string> recent_;  // keys, most recently used first
  std::unordered_map<std::string, std::pair<std::shared_ptr<const CompiledGrammar>, std::list<std::string>::iterator>>
      compiled_;
};

}  // namespace rs::grammar
