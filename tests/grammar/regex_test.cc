#include "core/grammar/regex.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/grammar/gbnf.h"

namespace rs::grammar {
namespace {

// Every `yes` string is matched by `pattern` in full, no `no` string is.
void expect_regex_language(std::string_view pattern, const std::vector<std::string>& yes,
                     const std::vector<std::string>& no) {
  const Grammar grammar = regex_grammar(pattern);
  for (const std::string& text : yes) EXPECT_TRUE(matches(grammar, text)) << pattern << " should match " << text;
  for (const std::string& text : no) EXPECT_FALSE(matches(grammar, text)) << pattern << " should not match " << text;
}

std::string regex_error_of(std::string_view pattern) {
  try {
    regex_grammar(pattern);
  } catch (const GrammarError& e) {
    return e.what();
  }
  return "no error";
}

TEST(RegexTest, PatternsMatchInFullWithOrWithoutAnchors) {
  for (const char* pattern : {"abc", "^abc", "abc$", "^abc$"}) {
    expect_regex_language(pattern, {"abc"}, {"", "ab", "abcd", "xabc"});
  }
  expect_regex_language("^a|b$", {"a", "b"}, {"ab", ""});
  expect_regex_language("^$", {""}, {"a"});
}

TEST(RegexTest, GroupsAlternationAndQuantifiers) {
  expect_regex_language("(ab|c)+d", {"abd", "cd", "abcabd"}, {"d", "abc", "abacd"});
  expect_regex_language("x?y*z+", {"z", "xyyzz", "yz"}, {"xx", "x", "xy"});
  expect_regex_language("a{2}", {"aa"}, {"a", "aaa"});
  expect_regex_language("a{2,}", {"aa", "aaaaa"}, {"a"});
  expect_regex_language("a{2,3}", {"aa", "aaa"}, {"a", "aaaa"});
  expect_regex_language("a+?b*?c??", {"a", "aabbc"}, {"b", "acc"});                     // lazy forms: the same strings
  expect_regex_language("(?:ab)?(?<year>\\d{2})(?P<m>x)", {"12x", "ab12x"}, {"a12x"});  // non-capturing and named groups
  expect_regex_language("a(|b)", {"a", "ab"}, {"b"});
}

TEST(RegexTest, BracesThatAreNoQuantifierAreLiteral) {
  expect_regex_language("a{", {"a{"}, {"a"});
  expect_regex_language("{x}", {"{x}"}, {"x"});
  expect_regex_language("a{2,x}", {"a{2,x}"}, {"aa"});
  expect_regex_language("\\{\"k\":\\d\\}", {"{\"k\":7}"}, {"{\"k\":}"});
}

TEST(RegexTest, DotAndNegatedClassesMatchWholeUtf8Characters) {
  expect_regex_language(".", {"a", "\xC3\xA9", "\xE4\xB8\xAD", "\xF0\x9F\x98\x80"}, {"\n", "", "ab", "\xC3", "\xF0\x9F\x98"});
  expect_regex_language("[^a]", {"b", "\xC3\xA9", "\n"}, {"a", "\xC3", "\xA9"});
  expect_regex_language("[\xC3\xA9-\xC3\xBC]+", {"\xC3\xA9", "\xC3\xB6\xC3\xBC"}, {"e", "\xC3\xA8", "\xC3\xBD"});  // [é-ü]
  expect_regex_language("caf\xC3\xA9", {"caf\xC3\xA9"}, {"cafe", "caf\xC3"});
}

TEST(RegexTest, EscapesNameCodePoints) {
  expect_regex_language("\\x41\\u00e9\\u{1F600}\\U0001F600", {"A\xC3\xA9\xF0\x9F\x98\x80\xF0\x9F\x98\x80"}, {"A"});
  expect_regex_language("\\n\\t\\r\\f\\v\\0", {std::string("\n\t\r\f\v\0", 6)}, {"\n\t\r\f\v"});
  expect_regex_language("\\.\\*\\/\\-\\(\\)\\[\\]\\\\", {".*/-()[]\\"}, {"a*/-()[]\\"});
}

TEST(RegexTest, ShorthandClassesAreAscii) {
  expect_regex_language("\\d{3}-\\d{4}", {"555-1234"}, {"55-1234", "555-123a", "\xD9\xA3\xD9\xA3\xD9\xA3-1234"});
  expect_regex_language("\\w+", {"snake_Case9"}, {"kebab-case", "\xC3\xA9"});
  expect_regex_language("\\s", {" ", "\t", "\n", "\r", "\f", "\v"}, {"\xC2\xA0", "x"});  // not U+00A0
  expect_regex_language("\\D\\W\\S", {"a-x", "\xC3\xA9\xC3\xA9\xC3\xA9"}, {"1-x", "aax", "a- "});
}

TEST(RegexTest, ClassesTakeEscapesSetsAndLiteralDashes) {
  expect_regex_language("[\\d\\s]", {"5", " "}, {"a"});
  expect_regex_language("[^\\d]", {"a", "\xC3\xA9"}, {"5"});
  expect_regex_language("[\\w-]+", {"kebab-case_1"}, {"a.b"});
  expect_regex_language("[-a]", {"-", "a"}, {"b"});
  expect_regex_language("[a-]", {"-", "a"}, {"b"});
  expect_regex_language("[a\\-z]", {"-", "a", "z"}, {"b"});
  expect_regex_language("[\\]\\\\.]", {"]", "\\", "."}, {"a"});
  expect_regex_language("[\\b]", {"\b"}, {"b"});
  expect_regex_language("[\\x41-\\x43\\u00e9]", {"B", "\xC3\xA9"}, {"D"});
}

TEST(RegexTest, JsonSchemaPatterns) {
  expect_regex_language("^[a-z0-9._%+-]+@[a-z0-9.-]+\\.[a-z]{2,}$", {"jo.doe+x@mail.example.org"},
                  {"jo@mail", "@mail.org", "jo@mail.o"});
  expect_regex_language("^\\d{4}-(0[1-9]|1[0-2])-\\d{2}$", {"2024-01-31", "1999-12-01"}, {"2024-13-01", "2024-1-01"});
  expect_regex_language("^(\\([0-9]{3}\\))?[0-9]{3}-[0-9]{4}$", {"(888)555-1212", "555-1212"}, {"(888)555-121"});
}

TEST(RegexTest, AddRegexBuildsAPartOfALargerGrammar) {
  Grammar g;
  const ExprId number = add_regex(g, "^-?[0-9]+$");
  g.set_root(g.add_rule("root", g.sequence({g.literal("id="), number, g.literal(";")})));
  EXPECT_TRUE(matches(g, "id=-42;"));
  EXPECT_FALSE(matches(g, "id=;"));
  EXPECT_EQ(regex_grammar("a[0-9]{2,3}|b*").to_gbnf(), "root ::= \"a\" [0-9]{2,3} | \"b\"*\n");
}

TEST(RegexTest, AnAsciiRegexSurvivesAGbnfRoundTrip) {
  const Grammar grammar = regex_grammar("(ab|[c-e]+)?x{2,3}y*");
  const Grammar again = parse_gbnf(grammar.to_gbnf());
  EXPECT_EQ(again.to_gbnf(), grammar.to_gbnf());
  for (const char* text : {"xx", "abxxx", "cdexxyy", "abx", "xxxx", "cabxx"}) {
    EXPECT_EQ(matches(again, text), matches(grammar, text)) << text;
  }
}

TEST(RegexTest, UnsupportedFeaturesNameThemselvesAndTheirOffset) {
  EXPECT_EQ(regex_error_of("abc(?=d)"), "lookahead (?= at offset 3 is not supported");
  EXPECT_EQ(regex_error_of("(?!d)"), "negative lookahead (?! at offset 0 is not supported");
  EXPECT_EQ(regex_error_of("a(?<=d)"), "lookbehind (?<= at offset 1 is not supported");
  EXPECT_EQ(regex_error_of("a(?<!d)"), "negative lookbehind (?<! at offset 1 is not supported");
  EXPECT_EQ(regex_error_of("(a)\\1"), "backreference \\1 at offset 3 is not supported");
  EXPECT_EQ(regex_error_of("(?<n>a)\\k<n>"), "named backreference \\k at offset 7 is not supported");
  EXPECT_EQ(regex_error_of("(?P<n>a)(?P=n)"), "named backreference (?P= at offset 8 is not supported");
  EXPECT_EQ(regex_error_of("\\bword"), "word boundary \\b at offset 0 is not supported");
  EXPECT_EQ(regex_error_of("x\\B"), "word boundary \\B at offset 1 is not supported");
  EXPECT_EQ(regex_error_of("a^b"), "anchor ^ inside the pattern at offset 1 is not supported");
  EXPECT_EQ(regex_error_of("(a$)"), "anchor $ inside the pattern at offset 2 is not supported");
  EXPECT_EQ(regex_error_of("\\Aa"), "anchor \\A at offset 0 is not supported");
  EXPECT_EQ(regex_error_of("(?i)abc"), "inline flags (?i at offset 0 is not supported");
  EXPECT_EQ(regex_error_of("\\p{L}+"), "Unicode property class \\p at offset 0 is not supported");
  EXPECT_EQ(regex_error_of("[\\P{L}]"), "Unicode property class \\P at offset 1 is not supported");
  EXPECT_EQ(regex_error_of("a*+"), "possessive quantifier at offset 2 is not supported");
  EXPECT_EQ(regex_error_of("(?>a)"), "atomic group (?> at offset 0 is not supported");
  EXPECT_EQ(regex_error_of("[[:alpha:]]"), "POSIX class [: at offset 1 is not supported");
  EXPECT_EQ(regex_error_of("a{,3}"),
            "quantifier {,n} (ECMAScript reads it as text, Python as {0,n}) at offset 1 is not supported");
  EXPECT_EQ(regex_error_of("a{1001}"), "quantifier {1001} (counts above 1000) at offset 1 is not supported");
  EXPECT_EQ(regex_error_of("a{2,99999999999}"),
            "quantifier {2,99999999999} (counts above 1000) at offset 1 is not supported");
  EXPECT_EQ(regex_error_of("\\01"), "octal escape \\01 at offset 0 is not supported");
}

TEST(RegexTest, MalformedPatternsAreErrors) {
  EXPECT_EQ(regex_error_of("a(b"), "invalid regex: unbalanced '(' at offset 1");
  EXPECT_EQ(regex_error_of("ab)"), "invalid regex: unbalanced ')' at offset 2");
  EXPECT_EQ(regex_error_of("[z-a]"), "invalid regex: class range 'z'-'a' out of order at offset 1");
  EXPECT_EQ(regex_error_of("[abc"), "invalid regex: unterminated character class at offset 0");
  EXPECT_EQ(regex_error_of("[a-"), "invalid regex: unterminated character class at offset 0");
  EXPECT_EQ(regex_error_of("[\\d-z]"), "invalid regex: a class range bounded by a set such as \\d at offset 1");
  EXPECT_EQ(regex_error_of("*a"), "invalid regex: nothing to repeat before '*' at offset 0");
  EXPECT_EQ(regex_error_of("a|+"), "invalid regex: nothing to repeat before '+' at offset 2");
  EXPECT_EQ(regex_error_of("{2}"), "invalid regex: nothing to repeat before '{' at offset 0");
  EXPECT_EQ(regex_error_of("a**"), "invalid regex: a quantifier after a quantifier at offset 2");
  EXPECT_EQ(regex_error_of("a{2}{3}"), "invalid regex: a quantifier after a quantifier at offset 4");
  EXPECT_EQ(regex_error_of("a{3,2}"), "invalid regex: quantifier {3,2} has its minimum above its maximum at offset 1");
  EXPECT_EQ(regex_error_of("ab\\"), "invalid regex: a trailing backslash at offset 2");
  EXPECT_EQ(regex_error_of("\\q"), "invalid regex: unknown escape \\q at offset 0");
  EXPECT_EQ(regex_error_of("\\x4"), "invalid regex: escape expects 2 hexadecimal digits at offset 0");
  EXPECT_EQ(regex_error_of("\\u{110000}"), "invalid regex: escape above U+10FFFF at offset 0");
  EXPECT_EQ(regex_error_of("\\uD800"), "invalid regex: escape of the surrogate U+D800, not a character at offset 0");
  EXPECT_EQ(regex_error_of("(?Q)"), "invalid regex: unknown group syntax at offset 0");
  EXPECT_EQ(regex_error_of("(?<1a>x)"), "invalid regex: invalid group name at offset 0");
  EXPECT_EQ(regex_error_of("a\xC3"), "invalid regex: invalid UTF-8 at offset 1");
  EXPECT_EQ(regex_error_of("\xC0\xAF"), "invalid regex: invalid UTF-8 at offset 0");  // overlong '/'
}

TEST(RegexTest, HostilePatternsAreBounded) {
  const std::string deep_100 = std::string(100, '(') + "a" + std::string(100, ')');
  expect_regex_language(deep_100, {"a"}, {""});
  EXPECT_EQ(regex_error_of("(" + deep_100 + ")"), "nesting groups deeper than 100 at offset 100 is not supported");
  EXPECT_EQ(regex_error_of(std::string(64 * 1024 + 1, 'a')), "a regex longer than 65536 bytes is not supported");
  expect_regex_language("(a{1000}){2}", {std::string(2000, 'a')}, {std::string(1999, 'a')});
}

}  // namespace
}  // namespace rs::grammar
