#include "core/grammar/grammar.h"

#include <gtest/gtest.h>

namespace rs::grammar {
namespace {

Grammar with_root(Grammar g, ExprId body) {
  g.set_root(g.add_rule("root", body));
  return g;
}

TEST(GrammarTest, CodePointsMatchExactlyTheUtf8OfTheirRanges) {
  Grammar g;
  const CodePointRange ranges[] = {{'a', 'c'}, {0xE9, 0xE9}, {0x7FF, 0x801}, {0xFFFF, 0x10001}};
  const ExprId body = g.code_points(ranges);
  const Grammar grammar = with_root(std::move(g), body);
  for (const char* yes : {"a", "c", "\xC3\xA9", "\xDF\xBF", "\xE0\xA0\x80", "\xE0\xA0\x81", "\xEF\xBF\xBF",
                          "\xF0\x90\x80\x80", "\xF0\x90\x80\x81"}) {
    EXPECT_TRUE(matches(grammar, yes)) << yes;
  }
  for (const char* no : {"d", "\xC3\xA8", "\xE0\xA0\x82", "\xF0\x90\x80\x82", "", "ab", "\xC3"}) {
    EXPECT_FALSE(matches(grammar, no)) << no;
  }
}

TEST(GrammarTest, EveryCodePointButTheExcludedIsValidUtf8Only) {
  Grammar g;
  const CodePointRange quote[] = {{'"', '"'}};
  const ExprId body = g.repeat(g.code_points_except(quote), 0, kUnbounded);
  const Grammar grammar = with_root(std::move(g), body);
  EXPECT_TRUE(matches(grammar, "h\xC3\xA9llo \xF0\x9F\x98\x80 \xE4\xB8\xAD"));
  EXPECT_FALSE(matches(grammar, "say \"hi\""));
  EXPECT_FALSE(matches(grammar, "\xED\xA0\x80"));      // a surrogate
  EXPECT_FALSE(matches(grammar, "\xC0\xAF"));          // overlong
  EXPECT_FALSE(matches(grammar, "\xF4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(matches(grammar, "\x80"));
}

TEST(GrammarTest, RepetitionsCountAndRulesRecurse) {
  Grammar g;
  const RuleId parens = g.declare("parens");
  g.define(parens, g.optional(g.sequence({g.byte('('), g.reference(parens), g.byte(')')})));
  const ExprId digits = g.repeat(g.byte_range('0', '9'), 2, 3);
  const ExprId body = g.sequence({digits, g.reference(parens)});
  const Grammar grammar = with_root(std::move(g), body);
  EXPECT_TRUE(matches(grammar, "12"));
  EXPECT_TRUE(matches(grammar, "123((()))"));
  EXPECT_FALSE(matches(grammar, "1"));
  EXPECT_FALSE(matches(grammar, "1234"));
  EXPECT_FALSE(matches(grammar, "12(()"));
  EXPECT_EQ(grammar.to_gbnf(), "root ::= [0-9]{2,3} parens\nparens ::= (\"(\" parens \")\")?\n");
}

TEST(GrammarTest, UndefinedRulesAndLeftRecursionAreErrors) {
  Grammar g;
  const RuleId loop = g.declare("loop");
  g.set_root(loop);
  EXPECT_THROW(g.check_complete(), GrammarError);
  g.define(loop, g.choice({g.sequence({g.reference(loop), g.byte('a')}), g.byte('a')}));
  EXPECT_THROW(matches(g, "aa"), GrammarError);
  EXPECT_THROW(g.repeat(g.byte('a'), 3, 2), GrammarError);
}

}  // namespace
}  // namespace rs::grammar
