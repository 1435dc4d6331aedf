#include "core/grammar/left_recursion.h"

#include <gtest/gtest.h>

#include <string>

namespace rs::grammar {
namespace {

std::string error_of(const Grammar& grammar) {
  try {
    check_no_left_recursion(grammar);
  } catch (const GrammarError& e) {
    return e.what();
  }
  return "no error";
}

TEST(LeftRecursionTest, DirectRecursionIsFound) {
  Grammar g;
  const RuleId a = g.declare("a");
  g.define(a, g.sequence({g.reference(a), g.byte('x')}));  // a ::= a "x"
  g.set_root(a);
  EXPECT_EQ(error_of(g), "rule 'a' is left-recursive: a -> a");
}

TEST(LeftRecursionTest, RecursionThroughAnotherRuleIsFound) {
  Grammar g;
  const RuleId root = g.declare("root"), a = g.declare("a"), b = g.declare("b");
  g.define(root, g.sequence({g.byte('<'), g.reference(a)}));
  g.define(a, g.sequence({g.reference(b), g.byte('x')}));  // a ::= b "x"
  g.define(b, g.choice({g.byte('y'), g.reference(a)}));    // b ::= "y" | a
  g.set_root(root);
  EXPECT_EQ(error_of(g), "rule 'a' is left-recursive: a -> b -> a");
}

TEST(LeftRecursionTest, RecursionPastAPartThatMatchesNothingIsFound) {
  Grammar g;
  const RuleId a = g.declare("a"), b = g.declare("b");
  g.define(b, g.byte('b'));
  g.define(a, g.sequence({g.optional(g.reference(b)), g.reference(a), g.byte('x')}));  // a ::= b? a "x"
  g.set_root(a);
  EXPECT_EQ(error_of(g), "rule 'a' is left-recursive: a -> a");

  Grammar h;  // a ::= c "x"* a "y", with c ::= "" | "z": nullable through a rule and a repetition
  const RuleId ha = h.declare("a"), hc = h.declare("c");
  h.define(hc, h.choice({h.empty(), h.byte('z')}));
  h.define(ha, h.sequence({h.reference(hc), h.repeat(h.byte('x'), 0, kUnbounded), h.reference(ha), h.byte('y')}));
  h.set_root(ha);
  EXPECT_EQ(error_of(h), "rule 'a' is left-recursive: a -> a");
}

TEST(LeftRecursionTest, RecursionAfterAByteIsFine) {
  Grammar g;  // list ::= item ("," list)?, item ::= "(" list ")" | [0-9]+: right recursion and nesting
  const RuleId list = g.declare("list"), item = g.declare("item");
  g.define(list, g.sequence({g.reference(item), g.optional(g.sequence({g.byte(','), g.reference(list)}))}));
  g.define(item, g.choice({g.sequence({g.byte('('), g.reference(list), g.byte(')')}),
                           g.repeat(g.byte_range('0', '9'), 1, kUnbounded)}));
  g.set_root(list);
  EXPECT_EQ(error_of(g), "no error");
  EXPECT_TRUE(matches(g, "1,(2,(3)),45"));
  EXPECT_FALSE(matches(g, "1,"));
}

TEST(LeftRecursionTest, RulesOutsideTheRootAndEmptyRepetitionsCount) {
  Grammar g;  // unused ::= ("" unused)*: left-recursive though nothing reaches it
  const RuleId root = g.add_rule("root", g.byte('r'));
  const RuleId unused = g.declare("unused");
  g.define(unused, g.repeat(g.sequence({g.empty(), g.reference(unused)}), 0, kUnbounded));
  g.set_root(root);
  EXPECT_EQ(error_of(g), "rule 'unused' is left-recursive: unused -> unused");

  Grammar h;  // a ::= a{0,0} "x": a repetition of at most none enters nothing
  const RuleId a = h.declare("a");
  h.define(a, h.sequence({h.repeat(h.reference(a), 0, 0), h.byte('x')}));
  h.set_root(a);
  EXPECT_EQ(error_of(h), "no error");
}

}  // namespace
}  // namespace rs::grammar
