// The compile cache: one compiled grammar per text and kind while it is among
// the recent ones, the trie built once and only when first needed, and every
// notation's errors as GrammarErrors.
#include "core/grammar/grammar_compiler.h"

#include <gtest/gtest.h>

#include "core/grammar/matcher.h"

namespace rs::grammar {
namespace {

std::vector<std::string> letters() { return {"a", "b", "ab", "yes", "no", ""}; }

TEST(GrammarCompilerTest, CompilesOncePerTextAndBuildsTheTrieOnFirstUse) {
  int trie_builds = 0;
  GrammarCompiler compiler(
      [&] {
        ++trie_builds;
        return letters();
      },
      {5}, 2);
  EXPECT_EQ(trie_builds, 0);
  const auto first = compiler.compile(SourceKind::regex, "a+b?");
  EXPECT_EQ(trie_builds, 1);
  EXPECT_EQ(compiler.compile(SourceKind::regex, "a+b?"), first);
  EXPECT_NE(compiler.compile(SourceKind::gbnf, R"(root ::= "a"+ "b"?)"), first);  // another kind, another grammar
  compiler.compile(SourceKind::regex, "b");  // the third: the least recently used goes
  EXPECT_NE(compiler.compile(SourceKind::regex, "a+b?"), first);
  EXPECT_EQ(trie_builds, 1);
}

TEST(GrammarCompilerTest, ChoicesAreExactlyTheirStrings) {
  GrammarCompiler compiler(letters, {5});
  const auto grammar = compiler.compile(SourceKind::choice, R"(["yes","no"])");
  Matcher m(grammar);
  std::vector<uint64_t> allowed(1);
  m.allowed(allowed);
  EXPECT_EQ(allowed[0], 0b11000u);  // "yes" and "no"; "a", "b", "ab" and the end are not
  EXPECT_THROW(compiler.compile(SourceKind::choice, R"(["yes",1])"), GrammarError);
  EXPECT_THROW(compiler.compile(SourceKind::choice, "[]"), GrammarError);
  EXPECT_THROW(compiler.compile(SourceKind::choice, "{"), GrammarError);
}

TEST(GrammarCompilerTest, EveryNotationsErrorsAreGrammarErrors) {
  GrammarCompiler compiler(letters, {5});
  EXPECT_THROW(compiler.compile(SourceKind::json_schema, R"({"type":"array","uniqueItems":true})"), GrammarError);
  EXPECT_THROW(compiler.compile(SourceKind::regex, "(?=a)"), GrammarError);
  EXPECT_THROW(compiler.compile(SourceKind::gbnf, "root ::= root \"a\""), GrammarError);
  EXPECT_NO_THROW(compiler.compile(SourceKind::json_object, ""));
}

}  // namespace
}  // namespace rs::grammar
