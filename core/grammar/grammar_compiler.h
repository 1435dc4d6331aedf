#pragma once
// What a request's constraint is written in, compiled once per text for one
// model's vocabulary: the most recently used grammars stay compiled (with
// their caches of masks), so a schema sent again costs nothing to compile.
// Both are bounded in bytes, so that clients sending ever new schemas cannot
// grow the server.
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

struct GrammarCacheLimits {
  size_t grammar_bytes = size_t(64) << 20;  // the grammars kept for reuse: their texts and automata
  size_t mask_bytes = size_t(256) << 20;    // what all of them cache of their masks, together
};

class GrammarCompiler {
 public:
  // `token_bytes` gives what every token of the vocabulary spells (empty for
  // control tokens); it is called once, on the first compile, so a server
  // that never constrains output never builds the trie. `end_tokens` end a
  // sequence once its grammar is matched.
  GrammarCompiler(std::function<std::vector<std::string>()> token_bytes, std::vector<TokenId> end_tokens,
                  GrammarCacheLimits limits = {});

  // Safe from any thread. Throws GrammarError.
  std::shared_ptr<const CompiledGrammar> compile(SourceKind kind, std::string_view text);
  // What the grammars kept hold (of limits.grammar_bytes), and what their masks do (of limits.mask_bytes).
  size_t kept_bytes() const;
  size_t mask_bytes() const { return masks_->used(); }

 private:
  struct Kept {
    std::shared_ptr<const CompiledGrammar> grammar;
    std::list<const std::string*>::iterator recent;
    size_t bytes;
  };

  std::shared_ptr<const TokenTrie> trie();

  std::function<std::vector<std::string>()> token_bytes_;
  std::vector<TokenId> end_tokens_;
  GrammarCacheLimits limits_;
  std::shared_ptr<CacheBudget> masks_;
  mutable std::mutex mutex_;
  std::shared_ptr<const TokenTrie> trie_;
  std::list<const std::string*> recent_;  // keys in compiled_, most recently used first
  std::unordered_map<std::string, Kept> compiled_;
  size_t kept_bytes_ = 0;
};

}  // namespace rs::grammar
