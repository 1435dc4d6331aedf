#include "core/grammar/gbnf.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace rs::grammar {
namespace {

void expect_language(std::string_view gbnf, const std::vector<std::string>& yes, const std::vector<std::string>& no) {
  const Grammar grammar = parse_gbnf(gbnf);
  for (const std::string& text : yes) EXPECT_TRUE(matches(grammar, text)) << "should match: " << text;
  for (const std::string& text : no) EXPECT_FALSE(matches(grammar, text)) << "should not match: " << text;
}

std::string error_of(std::string_view gbnf) {
  try {
    parse_gbnf(gbnf);
  } catch (const GrammarError& e) {
    return e.what();
  }
  return "no error";
}

// llama.cpp's grammars/arithmetic.gbnf.
constexpr std::string_view kArithmetic = R"gbnf(root  ::= (expr "=" ws term "\n")+
expr  ::= term ([-+*/] term)*
term  ::= ident | num | "(" ws expr ")" ws
ident ::= [a-z] [a-z0-9_]* ws
num   ::= [0-9]+ ws
ws    ::= [ \t\n]*
)gbnf";

// llama.cpp's grammars/json.gbnf: rules over several lines, comments, an empty alternative.
constexpr std::string_view kJson = R"gbnf(root   ::= object
value  ::= object | array | string | number | ("true" | "false" | "null") ws

object ::=
  "{" ws (
            string ":" ws value
    ("," ws string ":" ws value)*
  )? "}" ws

array  ::=
  "[" ws (
            value
    ("," ws value)*
  )? "]" ws

string ::=
  "\"" (
    [^"\\\x7F\x00-\x1F] |
    "\\" (["\\/bfnrt] | "u" [0-9a-fA-F]{4}) # escapes
  )* "\"" ws

number ::= ("-"? ([0-9] | [1-9] [0-9]{0,15})) ("." [0-9]+)? ([eE] [-+]? [0-9] [1-9]{0,15})? ws

# Optional space: by convention, applied in this grammar after literal chars when allowed
ws ::= | " " | "\n" [ \t]{0,20}
)gbnf";

TEST(GbnfTest, Arithmetic) {
  expect_language(kArithmetic, {"1+2=3\n", "(a +b1)*c= x\n", "x=1\ny=2\n"}, {"1+=3\n", "1+2=3", "A=1\n", "=1\n"});
}

TEST(GbnfTest, Json) {
  expect_language(kJson,
                  {R"({"a": [1, 2.5, -0.5e3, "x\u00e9y"], "b": {"c": null}})", "{}", "{\"name\":\"h\xC3\xA9llo\"}",
                   "{\n  \"a\": true\n}"},
                  {R"({"a": })", "{'a': 1}", "{\"a\": \"\x01\"}", R"({"a": 01x})", "[1]", "{\"a\":\"\xC3\"}"});
}

TEST(GbnfTest, StringsAndClassesTakeEscapesAndUtf8) {
  expect_language(R"(root ::= "a\n\t\r\\\"\[\]\x41\u00e9\U0001F600" "é")",
                  {"a\n\t\r\\\"[]A\xC3\xA9\xF0\x9F\x98\x80\xC3\xA9"}, {"a"});
  expect_language(R"(root ::= [\x00-\x1F\]é-ü] [^a-z\u00e9])",
                  {"\x01Z", "]\xE4\xB8\xAD", "\xC3\xB6Z", "\xC3\xA9\xC3\xA8"},
                  {"\x01"
                   "a",
                   "\x01\xC3\xA9", "a1"});
  expect_language(R"(root ::= [a-] [-b])", {"--", "ab"}, {"bb"});
  // \xC3 is the code point U+00C3, as in llama.cpp, not a byte.
  expect_language(R"(root ::= "\xC3")", {"\xC3\x83"}, {"\xC3"});
}

TEST(GbnfTest, DotIsAnyWholeCharacter) {
  expect_language("root ::= . .", {"ab", "\n\xF0\x9F\x98\x80", "\xC3\xA9\xE4\xB8\xAD"}, {"a", "abc", "a\xC3"});
}

TEST(GbnfTest, Repetitions) {
  expect_language(R"(root ::= "a"{2} "b"{ 1 , } "c"{0,2} ("d" "e")* "f"+ "g"?)", {"aabf", "aabbbccdedeffg"},
                  {"abf", "aabcccf", "aabd"});
}

TEST(GbnfTest, RulesMayBeUsedBeforeTheyAreDefined) {
  expect_language("root ::= item (\",\" item)*\nitem ::= [0-9]+ | \"x\"", {"1,x,22"}, {"1,", "y"});
}

TEST(GbnfTest, NewlinesContinueARuleOnlyAfterAssignOrBarOrInsideParentheses) {
  expect_language("# leading comment\n\nroot ::=\n  \"a\" |\n  \"b\" # trailing\n  \n", {"a", "b"}, {"ab"});
  expect_language("root ::= (\"a\"\n  \"b\" # inside\n  | \"c\")\n", {"ab", "c"}, {"a"});
  expect_language("root ::= \"a\"\r\nx ::= \"b\"\r\n", {"a"}, {"b"});
  EXPECT_EQ(error_of("root ::= \"a\"\n  | \"b\"\n"),
            "GBNF line 2, column 3: expected a rule name, found '|' (a rule goes on past a newline only after "
            "'::=' or '|' or inside parentheses)");
  EXPECT_EQ(error_of("root ::= \"a\"\n\"b\"\n"),
            "GBNF line 2, column 1: expected a rule name, found '\"' (a rule goes on past a newline only after "
            "'::=' or '|' or inside parentheses)");
}

TEST(GbnfTest, SyntaxErrorsNameTheirLineAndColumn) {
  EXPECT_EQ(error_of("root ::= x\nx = \"a\""), "GBNF line 2, column 3: expected '::=', found '='");
  EXPECT_EQ(error_of("root ::= \"a\" )"), "GBNF line 1, column 14: expected the end of the line, found ')'");
  EXPECT_EQ(error_of("root ::= (\"a\""), "GBNF line 1, column 14: expected ')', found the end of the text");
  EXPECT_EQ(error_of("root ::= \"\xC3\xA9\xC3\xA9"), "GBNF line 1, column 10: unterminated string");
  EXPECT_EQ(error_of("root ::= [a-z"), "GBNF line 1, column 10: unterminated character class");
  EXPECT_EQ(error_of("root ::= [z-a]"), "GBNF line 1, column 11: class range 'z'-'a' out of order");
  EXPECT_EQ(error_of("root ::= \"\\q\""), "GBNF line 1, column 11: unknown escape: a backslash before 'q'");
  EXPECT_EQ(error_of("root ::= \"\\x4\""), "GBNF line 1, column 11: escape expects 2 hexadecimal digits");
  EXPECT_EQ(error_of("root ::= * \"a\""), "GBNF line 1, column 10: nothing to repeat before '*'");
  EXPECT_EQ(error_of("root ::= \"a\"{3,2}"),
            "GBNF line 1, column 13: repetition {3,2} has its minimum above its maximum");
  EXPECT_EQ(error_of("root ::= \"a\"{x}"), "GBNF line 1, column 14: expected a number, found 'x'");
  EXPECT_EQ(error_of("root ::= \"a\"{2 3}"), "GBNF line 1, column 16: expected '}', found '3'");
  EXPECT_EQ(error_of("root ::= <[1000]>"), "GBNF line 1, column 10: expected the end of the line, found '<'");
  EXPECT_EQ(error_of("root ::= \"a\"\nroot ::= \"b\""), "GBNF line 2, column 1: rule 'root' is defined twice");
}

TEST(GbnfTest, UndefinedRulesAndAMissingRootAreNamed) {
  EXPECT_EQ(error_of("root ::= item\n  # item is never defined\nother ::= \"x\" item"),
            "GBNF line 1, column 10: undefined rule 'item'");
  EXPECT_EQ(error_of("start ::= \"a\""), "GBNF: the grammar has no rule 'root'");
  EXPECT_EQ(error_of(""), "GBNF: the grammar has no rule 'root'");
}

TEST(GbnfTest, LeftRecursionIsRefused) {
  EXPECT_EQ(error_of("root ::= expr\nexpr ::= expr \"+\" num | num\nnum ::= [0-9]+"),
            "rule 'expr' is left-recursive: expr -> expr");
  expect_language("root ::= expr\nexpr ::= num (\"+\" expr)?\nnum ::= [0-9]+", {"1+22+3"}, {"1+"});
}

TEST(GbnfTest, HostileGrammarsAreBounded) {
  const std::string deep_100 = std::string(100, '(') + "\"a\"" + std::string(100, ')');
  expect_language("root ::= " + deep_100, {"a"}, {""});
  EXPECT_EQ(error_of("root ::= (" + deep_100 + ")"), "GBNF line 1, column 110: parentheses nested deeper than 100");
  EXPECT_EQ(error_of("root ::= \"a\"{1001}"),
            "GBNF line 1, column 13: repetition {1001} counts above 1000, which is not supported");
  EXPECT_EQ(error_of("root ::= \"a\"{0,99999999999}"),
            "GBNF line 1, column 13: repetition {0,99999999999} counts above 1000, which is not supported");
  EXPECT_EQ(error_of("root ::= \"" + std::string(256 * 1024, 'a') + "\""),
            "a GBNF grammar longer than 262144 bytes is not supported");
}

TEST(GbnfTest, PrintedGrammarsReadBackTheSame) {
  const Grammar grammar = parse_gbnf("root ::= (\"ab\" | [c-e]+ x){2,3} \"z\"?\nx ::= \"y\"* [a-q]");
  EXPECT_EQ(parse_gbnf(grammar.to_gbnf()).to_gbnf(), grammar.to_gbnf());
}

}  // namespace
}  // namespace rs::grammar
