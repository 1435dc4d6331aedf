// The compile cache: one compiled grammar per text and kind while it is among
// the recent ones, the trie built once and only when first needed, and every
// notation's errors as GrammarErrors.
#include "core/grammar/grammar_compiler.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <string>
#include <string_view>

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
      {5});
  EXPECT_EQ(trie_builds, 0);
  const auto first = compiler.compile(SourceKind::regex, "a+b?");
  EXPECT_EQ(trie_builds, 1);
  EXPECT_EQ(compiler.compile(SourceKind::regex, "a+b?"), first);
  EXPECT_NE(compiler.compile(SourceKind::gbnf, R"(root ::= "a"+ "b"?)"), first);  // another kind, another grammar
  EXPECT_EQ(trie_builds, 1);
}

// What is kept for reuse is bounded in bytes (texts and automata): the least recently used go first, and a grammar
// larger than the whole bound is compiled and used but not kept.
TEST(GrammarCompilerTest, KeepsTheMostRecentlyUsedGrammarsWithinItsBytes) {
  GrammarCompiler unbounded(letters, {5});
  unbounded.compile(SourceKind::regex, "a+b?");
  const size_t one = unbounded.kept_bytes();  // "b+a?" and "c+d?" are as large: one rule, three states
  ASSERT_GT(one, 4u);

  GrammarCompiler compiler(letters, {5}, {.grammar_bytes = 2 * one + one / 2});
  const auto a = compiler.compile(SourceKind::regex, "a+b?");
  const auto b = compiler.compile(SourceKind::regex, "b+a?");
  EXPECT_EQ(compiler.compile(SourceKind::regex, "a+b?"), a);  // now the most recent
  EXPECT_EQ(compiler.kept_bytes(), 2 * one);
  const auto c = compiler.compile(SourceKind::regex, "c+d?");  // b goes
  EXPECT_EQ(compiler.kept_bytes(), 2 * one);
  EXPECT_EQ(compiler.compile(SourceKind::regex, "a+b?"), a);
  EXPECT_EQ(compiler.compile(SourceKind::regex, "c+d?"), c);
  const auto b_again = compiler.compile(SourceKind::regex, "b+a?");  // compiled anew; a goes
  EXPECT_NE(b_again, b);
  EXPECT_NE(compiler.compile(SourceKind::regex, "a+b?"), a);
  EXPECT_LE(compiler.kept_bytes(), 2 * one + one / 2);

  GrammarCompiler too_small(letters, {5}, {.grammar_bytes = one - 1});
  const auto first = too_small.compile(SourceKind::regex, "a+b?");
  EXPECT_NE(too_small.compile(SourceKind::regex, "a+b?"), first);
  EXPECT_EQ(too_small.kept_bytes(), 0u);
  Matcher m(first);
  EXPECT_TRUE(m.read("aab") && m.complete());
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

// Grammars of a few lines whose automata took seconds to build (and could take gigabytes) are refused by the bounds
// on what one compile does, in a fraction of a second; a large ordinary schema still compiles.
TEST(GrammarCompilerTest, WhatOneCompileDoesIsBounded) {
  GrammarCompiler compiler(letters, {5});
  const auto expect_refused = [&](SourceKind kind, const std::string& text, std::string_view reason) {
    try {
      compiler.compile(kind, text);
      ADD_FAILURE() << "compiled: " << text.substr(0, 80);
    } catch (const GrammarError& e) {
      EXPECT_NE(std::string_view(e.what()).find(reason), std::string_view::npos) << e.what();
    }
  };
  // Found by the grammar fuzz target: each "+" repeats all it follows once more, doubling the automaton.
  expect_refused(SourceKind::gbnf, "root ::= \"x\" word{1,4} \"!\"+++++++++++++++++++++?\nword ::= \" \" [ab]+",
                 "more than 500000 automaton nodes and edges");
  expect_refused(SourceKind::regex, "((a{1000}){1000}){1000}", "more than 500000 automaton nodes and edges");
  // Eight rules each under the bounds on one rule's automaton, which used to be all there was.
  std::string rules = "root ::= r0\n";
  for (int i = 0; i < 8; ++i) rules += fmt::format("r{0} ::= \"x\" r{0} | r{1} | ((\"\"){{900}}){{900}}\n", i, i + 1);
  expect_refused(SourceKind::gbnf, rules + "r8 ::= \"y\"", "more than 500000 automaton nodes and edges");
  // Tens of thousands of distinct byte sets in one rule.
  const std::string_view chars = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  std::string classes = "root ::=";
  for (size_t a = 0; a < chars.size(); ++a) {
    for (size_t b = a + 1; b < chars.size(); ++b) {
      for (size_t c = b + 1; c < chars.size(); ++c) classes += fmt::format(" [{}{}{}]", chars[a], chars[b], chars[c]);
    }
  }
  expect_refused(SourceKind::gbnf, classes, "steps building its automaton");
  EXPECT_NO_THROW(
      compiler.compile(SourceKind::json_schema, R"({"type":"array","maxItems":1000,"items":{"type":"integer"}})"));
}

}  // namespace
}  // namespace rs::grammar
