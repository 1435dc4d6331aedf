// Masks on real vocabularies (../shared/tokenizers): SentencePiece with byte
// tokens (Llama 2, 32K) and byte-level BPE (Llama 3.2, 128K). At every step of
// random walks through a nested JSON schema, every token is checked against a
// matcher reading its bytes.
#include <gtest/gtest.h>

#include <filesystem>
#include <random>

#include "core/grammar/json_schema.h"
#include "core/grammar/matcher.h"
#include "core/model/gguf_reader.h"
#include "core/tokenizer/special_tokens.h"
#include "core/tokenizer/tokenizer.h"
#include "tests/support/ci.h"

namespace rs::grammar {
namespace {

const std::string kShared = RINGSERVE_SOURCE_DIR "/../shared/tokenizers/";

constexpr std::string_view kSchema = R"({
  "type": "object",
  "properties": {
    "name": {"type": "string", "maxLength": 20},
    "age": {"type": "integer"},
    "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 3},
    "address": {"type": "object", "properties": {"city": {"type": "string"}, "zip": {"type": "string"}},
                "required": ["city"]},
    "kind": {"enum": ["a", "b", null]}
  },
  "required": ["name", "age"]
})";

struct Vocabulary {
  std::shared_ptr<const TokenTrie> trie;
  std::vector<TokenId> ends;
};

std::optional<Vocabulary> load(const std::string& file) {
  const std::string path = kShared + file;
  if (!std::filesystem::exists(path)) return std::nullopt;
  const tokenizer::Tokenizer tok(tokenizer::vocab_from_metadata(model::read_gguf(path).metadata, path));
  std::vector<std::string> bytes(tok.vocab().size());
  for (size_t id = 0; id < bytes.size(); ++id) bytes[id] = tok.piece(TokenId(id));
  return Vocabulary{std::make_shared<const TokenTrie>(std::move(bytes)),
                    tokenizer::end_of_generation_tokens(tok.vocab())};
}

bool has(const std::vector<uint64_t>& bits, TokenId t) { return (bits[size_t(t) / 64] >> (t % 64)) & 1; }

void walk(const std::shared_ptr<const CompiledGrammar>& grammar, uint32_t seed, int steps) {
  const TokenTrie& trie = grammar->trie();
  std::mt19937 rng(seed);
  Matcher m(grammar);
  std::string text;
  for (int step = 0; step < steps && !m.finished(); ++step) {
    std::vector<uint64_t> allowed((trie.vocab_size() + 63) / 64);
    m.allowed(allowed);
    std::vector<TokenId> choices;
    for (TokenId t = 0; t < TokenId(trie.vocab_size()); ++t) {
      const bool expected = !trie.token_bytes(t).empty() && m.can_read(trie.token_bytes(t));
      ASSERT_EQ(has(allowed, t),
                expected || (m.complete() && std::count(grammar->end_tokens().begin(), grammar->end_tokens().end(), t)))
          << "after '" << text << "', token " << t << " '" << trie.token_bytes(t) << "'";
      if (expected) choices.push_back(t);
    }
    ASSERT_FALSE(choices.empty() && !m.complete()) << "stuck after '" << text << "'";
    if (choices.empty()) break;
    // Short tokens first now and then, so walks also close what they open.
    TokenId t = choices[rng() % choices.size()];
    if (rng() % 2) {
      for (int tries = 0; tries < 20 && trie.token_bytes(t).size() > 2; ++tries) t = choices[rng() % choices.size()];
    }
    m.accept(t);
    text += trie.token_bytes(t);
  }
  EXPECT_EQ(m.complete(), matches(json_schema_grammar(kSchema), text)) << text;
}

void check_vocabulary(const std::string& file) {
  const std::optional<Vocabulary> vocab = load(file);
  if (!vocab) RS_SKIP_UNLESS_CI(kShared + file + " is missing");
  auto grammar = std::make_shared<const CompiledGrammar>(Automaton::compile(json_schema_grammar(kSchema)), vocab->trie,
                                                         vocab->ends);
  for (uint32_t seed = 1; seed <= 4; ++seed) walk(grammar, seed, 25);
  EXPECT_GT(grammar->cached_states(), 10u);
}

TEST(VocabularyMaskTest, SentencePieceWithByteTokens) { check_vocabulary("llama2-vocab.gguf"); }

// With caches far smaller than the walks need, every mask is still exact: a grammar that finds the budget spent
// empties its own caches and starts over, or computes without keeping when another grammar holds the budget. What
// they hold never exceeds it, and a grammar gives its share back when it goes.
TEST(VocabularyMaskTest, MasksAreExactWhenTheCacheBudgetRunsOut) {
  const std::optional<Vocabulary> vocab = load("llama2-vocab.gguf");
  if (!vocab) RS_SKIP_UNLESS_CI(kShared + "llama2-vocab.gguf is missing");
  const auto budget = std::make_shared<CacheBudget>(64 << 10);  // 16 bitmaps of a 32K vocabulary
  auto first = std::make_shared<const CompiledGrammar>(Automaton::compile(json_schema_grammar(kSchema)), vocab->trie,
                                                       vocab->ends, budget);
  auto second = std::make_shared<const CompiledGrammar>(Automaton::compile(json_schema_grammar(kSchema)), vocab->trie,
                                                        vocab->ends, budget);
  for (uint32_t seed = 1; seed <= 3; ++seed) {
    walk(first, seed, 25);
    walk(second, seed + 10, 25);
    EXPECT_LE(budget->used(), budget->limit());
  }
  EXPECT_GT(first->cache_resets() + second->cache_resets(), 0u);
  EXPECT_EQ(budget->used(), first->cached_bytes() + second->cached_bytes());
  first.reset();
  EXPECT_EQ(budget->used(), second->cached_bytes());
}

TEST(VocabularyMaskTest, ByteLevelBpeWith128KTokens) { check_vocabulary("llama3.2-vocab.gguf"); }

}  // namespace
}  // namespace rs::grammar
