// The automaton and the masks against the specification: matches() for
// whole texts, and for masks a fresh matcher reading each token's bytes.
#include "core/grammar/matcher.h"

#include <gtest/gtest.h>

#include <random>

#include "core/grammar/automaton.h"
#include "core/grammar/gbnf.h"
#include "core/grammar/grammar.h"
#include "core/grammar/json_schema.h"

namespace rs::grammar {
namespace {

// value ::= "[" (value ("," value)*)? "]" | [0-9]+ | "\"" [a-c]* "\""  — recursive, so calls and returns.
Grammar nested_lists() {
  Grammar g;
  const RuleId value = g.declare("value");
  const ExprId items =
      g.sequence({g.reference(value), g.repeat(g.sequence({g.byte(','), g.reference(value)}), 0, kUnbounded)});
  const ExprId list = g.sequence({g.byte('['), g.optional(items), g.byte(']')});
  const ExprId number = g.repeat(g.byte_range('0', '9'), 1, kUnbounded);
  const ExprId text = g.sequence({g.byte('"'), g.repeat(g.byte_range('a', 'c'), 0, kUnbounded), g.byte('"')});
  g.define(value, g.choice({list, number, text}));
  g.set_root(value);
  return g;
}

// root ::= "x" word{1,3} "!"? ; word ::= " " [ab]+ — no recursion: one automaton, words expanded in place.
Grammar words() {
  Grammar g;
  const RuleId word = g.add_rule("word", g.sequence({g.byte(' '), g.repeat(g.byte_range('a', 'b'), 1, kUnbounded)}));
  g.set_root(g.add_rule("root", g.sequence({g.byte('x'), g.repeat(g.reference(word), 1, 3), g.optional(g.byte('!'))})));
  return g;
}

std::string random_text(std::mt19937& rng, std::string_view alphabet, size_t max_length) {
  std::string text(rng() % (max_length + 1), ' ');
  for (char& c : text) c = alphabet[rng() % alphabet.size()];
  return text;
}

bool reads_whole(const std::shared_ptr<const CompiledGrammar>& grammar, std::string_view text) {
  Matcher m(grammar);
  return m.read(text) && m.complete();
}

std::shared_ptr<const CompiledGrammar> compiled(const Grammar& g, std::vector<std::string> vocab,
                                                std::vector<TokenId> ends) {
  return std::make_shared<const CompiledGrammar>(Automaton::compile(g),
                                                 std::make_shared<const TokenTrie>(std::move(vocab)), std::move(ends));
}

TEST(MatcherTest, ReadsExactlyWhatTheGrammarMatches) {
  std::mt19937 rng(7);
  for (const auto& [grammar, alphabet] :
       {std::pair{nested_lists(), std::string_view("[],1\"ab")}, std::pair{words(), std::string_view("x ab!")}}) {
    const auto g = compiled(grammar, {}, {});
    int accepted = 0;
    for (int i = 0; i < 20000; ++i) {
      const std::string text = random_text(rng, alphabet, 12);
      ASSERT_EQ(reads_whole(g, text), matches(grammar, text)) << text;
      accepted += matches(grammar, text);
    }
    EXPECT_GT(accepted, 50);  // the random texts do reach the language
  }
  const auto g = compiled(nested_lists(), {}, {});
  EXPECT_TRUE(reads_whole(g, "[[1,\"ab\"],[],[[[2]]]]"));
  EXPECT_FALSE(reads_whole(g, "[[1,\"ab\"],[],[[[2]]]"));
}

// Every token the mask allows, and only those, can be read next.
void expect_masks_exact(const Grammar& grammar, const std::vector<std::string>& vocab, std::string_view alphabet,
                        uint32_t seed) {
  const TokenId end = TokenId(vocab.size());  // a control token, not in the trie
  std::vector<std::string> with_end = vocab;
  with_end.emplace_back();
  const auto g = compiled(grammar, with_end, {end});
  std::mt19937 rng(seed);
  for (int walk = 0; walk < 200; ++walk) {
    Matcher m(g);
    std::string prefix;
    for (int step = 0; step < 30; ++step) {
      std::vector<uint64_t> allowed((with_end.size() + 63) / 64);
      m.allowed(allowed);
      std::vector<TokenId> choices;
      for (TokenId t = 0; t < TokenId(vocab.size()); ++t) {
        Matcher oracle(g);
        ASSERT_TRUE(oracle.read(prefix));
        const bool expected = oracle.read(vocab[size_t(t)]);
        const bool got = (allowed[size_t(t) / 64] >> (t % 64)) & 1;
        ASSERT_EQ(got, expected) << "after '" << prefix << "', token '" << vocab[size_t(t)] << "'";
        if (got) choices.push_back(t);
      }
      const bool end_allowed = (allowed[size_t(end) / 64] >> (end % 64)) & 1;
      ASSERT_EQ(end_allowed, m.complete() || choices.empty()) << prefix;
      if (choices.empty() || (end_allowed && rng() % 4 == 0)) break;
      const TokenId t = choices[rng() % choices.size()];
      m.accept(t);
      prefix += vocab[size_t(t)];
    }
    ASSERT_TRUE(matches(grammar, prefix) == reads_whole(g, prefix)) << prefix;
  }
  (void)alphabet;
}

std::vector<std::string> random_vocab(std::string_view alphabet, size_t count, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<std::string> vocab;
  for (const char c : alphabet) vocab.emplace_back(1, c);  // every byte on its own, as byte-level vocabularies have
  while (vocab.size() < count) {
    std::string token = random_text(rng, alphabet, 5);
    if (!token.empty()) vocab.push_back(token);
  }
  return vocab;
}

TEST(MatcherTest, MasksOfARecursiveGrammarAllowExactlyTheReadableTokens) {
  const std::string_view alphabet = "[],1\"ab";
  expect_masks_exact(nested_lists(), random_vocab(alphabet, 300, 1), alphabet, 11);
}

TEST(MatcherTest, MasksOfAFlatGrammarAllowExactlyTheReadableTokens) {
  const std::string_view alphabet = "x ab!";
  expect_masks_exact(words(), random_vocab(alphabet, 200, 2), alphabet, 12);
}

// A token that ends a called rule and, at once, the rule that called it goes on below both: `",` closes a JSON
// string that is an object member's value, ends the value, and goes on in the object (found by the grammar fuzz
// target: the mask left such tokens out).
TEST(MatcherTest, MasksAllowTokensThatEndACalledRuleAndItsCallerAtOnce) {
  const std::vector<std::string> vocab = {"{", "}",   "[",   "]",   "\"",  ",",   ":",  "1", "a",
                                          " ", "\",", "\"}", "\":", "{\"", "\"]", "],", "}}"};
  const auto g = compiled(json_object_grammar(), vocab, {});
  Matcher m(g);
  ASSERT_TRUE(m.read(R"({"a":"x)"));
  std::vector<uint64_t> allowed(1);
  m.allowed(allowed);
  EXPECT_EQ(allowed[0] >> 10 & 0b11, 0b11u);  // `",` and `"}`
  expect_masks_exact(json_object_grammar(), vocab, "", 13);
}

// What follows a called rule's end is walked with the caller's stacks, whose frames (here: the caller calling `term`
// again) live in the arena they were expanded in (found by the grammar fuzz target: a read past that arena).
TEST(MatcherTest, MasksWalkOnFromACallerThatCallsAgain) {
  const Grammar grammar = parse_gbnf("root ::= expr\nexpr ::= term (term)*\nterm ::= [0-9]+ | \"(\" expr \")\"");
  expect_masks_exact(grammar, {"(", ")", "1", "2", "(1", "1)", "))", "12", ")(", "1(", "2)("}, "", 14);
}

// Ways that can never finish (past an empty character class, into a rule that never ends) are cut at compile, so
// no mask allows a token into them; a grammar with no other way matches no text and is refused (found by the grammar
// fuzz target: `root ::= []` compiled, and its mask allowed only the end token, ending an empty, unmatched output).
TEST(MatcherTest, WaysThatCanNeverFinishAreCutAndAGrammarWithNoOtherIsRefused) {
  for (const char* gbnf : {"root ::= []", "root ::= \"a\" []", "root ::= \"a\" r\nr ::= \"b\" r",
                           "root ::= r\nr ::= \"(\" r \")\""}) {
    try {
      Automaton::compile(parse_gbnf(gbnf));
      ADD_FAILURE() << gbnf << " compiled";
    } catch (const GrammarError& e) {
      EXPECT_NE(std::string(e.what()).find("the grammar matches no text"), std::string::npos) << gbnf << ": " << e.what();
    }
  }
  const std::vector<std::string> vocab = {"a", "b", "c", "ab", "ba", "bc", "ca", "cb", "(", ")"};
  // "b" leads into an empty class, "c" into a rule that only ever calls itself again: only "a" and "(a)" remain.
  const Grammar grammar =
      parse_gbnf("root ::= \"a\" | \"b\" [] | \"c\" loop | \"(\" root \")\"\nloop ::= \"b\" loop");
  const auto g = compiled(grammar, vocab, {});
  Matcher m(g);
  std::vector<uint64_t> allowed(1);
  m.allowed(allowed);
  EXPECT_EQ(allowed[0], 0b0100000001u);  // "a" and "("
  EXPECT_FALSE(m.can_read("b"));
  EXPECT_FALSE(m.can_read("cb"));
  expect_masks_exact(grammar, vocab, "", 15);
}

// Two rules that read the same text, nested: the ways to be after n "(" number 2^n (found by the grammar fuzz
// target: a read of about thirty "(" ran for minutes). Stacks with the same top are joined, so they stay few while
// reads, completion and masks stay exact.
TEST(MatcherTest, AnAmbiguousGrammarKeepsFewStacksAndStaysExact) {
  const Grammar grammar = parse_gbnf(
      "root ::= e\ne ::= \"(\" e \")\" | \"(\" f \")\" | \"x\"\nf ::= \"(\" e \")\" | \"(\" f \")\" | \"x\"");
  const std::vector<std::string> vocab = {"(", ")", "x", "((", "))", "(x", "x)", ")("};
  const auto g = compiled(grammar, vocab, {});
  Matcher m(g);
  ASSERT_TRUE(m.read(std::string(300, '(')));
  EXPECT_LE(m.stack_count(), 4u);
  std::vector<uint64_t> allowed(1);
  m.allowed(allowed);
  EXPECT_EQ(allowed[0], 0b01101101u);  // "(", "x", "((", "(x", "x)"
  ASSERT_TRUE(m.read("x" + std::string(299, ')')));
  EXPECT_FALSE(m.complete());
  EXPECT_FALSE(m.can_read("))"));
  ASSERT_TRUE(m.read(")"));
  EXPECT_TRUE(m.complete());
  EXPECT_FALSE(m.can_read(")"));
  expect_masks_exact(grammar, vocab, "", 16);
}

// A call that is the last thing its rule does pushes no frame: the callee returns straight to the caller's caller.
// Right recursion (`root ::= line root`) used to stack a frame per line, so at FrameArena::kMaxDepth lines the
// matcher refused the next one, and each byte popped through them all (found probing the matcher at depth).
TEST(MatcherTest, RightRecursionGrowsNoStack) {
  const Grammar lines = parse_gbnf("root ::= line root | line\nline ::= [a-z]+ \"\\n\"");
  const std::vector<std::string> vocab = {"a", "b", "\n", "ab\n", "b\na"};
  Matcher m(compiled(lines, vocab, {}));
  for (uint32_t i = 0; i < 3 * FrameArena::kMaxDepth; ++i) ASSERT_TRUE(m.read("ab\n")) << "line " << i;
  EXPECT_TRUE(m.complete());
  EXPECT_EQ(m.stack_count(), 1u);  // in `line`'s start, over nothing
  expect_masks_exact(lines, vocab, "", 17);

  const Grammar pairs = parse_gbnf("root ::= e\ne ::= \"(\" e \")\" e | \"\"");
  Matcher p(compiled(pairs, {}, {}));
  for (uint32_t i = 0; i < 3 * FrameArena::kMaxDepth; ++i) ASSERT_TRUE(p.read("()")) << "pair " << i;
  EXPECT_TRUE(p.complete());
  EXPECT_FALSE(p.can_read(")"));
  expect_masks_exact(pairs, {"(", ")", "()", ")(", "((", "))", "())"}, "", 18);
}

// At FrameArena::kMaxDepth a token that would nest deeper is refused, and masks leave it out: the cached masks,
// walked from a stack of one, allowed it, and reading it left no stack at all, so the output ended there with
// the nesting unclosed (found by the grammar fuzz target reading its text over and over).
TEST(MatcherTest, MasksStayExactAtTheDepthLimit) {
  const Grammar nesting = parse_gbnf("root ::= e\ne ::= \"(\" e \")\" | \"[\" e \"]\" e | \"x\"");
  const std::vector<std::string> vocab = {"(", ")", "x", "((", "(x", "x)", "))", "(((", "[", "]", "[(", "]x", ""};
  const TokenId end = TokenId(vocab.size() - 1);
  const auto g = compiled(nesting, vocab, {end});
  const auto expect_exact = [&](Matcher& m, uint32_t depth) {
    std::vector<uint64_t> allowed(1);
    m.allowed(allowed);
    for (TokenId t = 0; t < end; ++t) {
      EXPECT_EQ((allowed[0] >> t) & 1, m.can_read(vocab[size_t(t)]))
          << "token '" << vocab[size_t(t)] << "' at " << depth;
    }
  };
  for (const char open : {'(', '['}) {
    Matcher m(g);
    ASSERT_TRUE(m.read(std::string(FrameArena::kMaxDepth - 3, open)));
    for (uint32_t depth = FrameArena::kMaxDepth - 3; depth < FrameArena::kMaxDepth; ++depth) {
      expect_exact(m, depth);
      EXPECT_EQ(m.can_read("(("), depth + 2 <= FrameArena::kMaxDepth) << depth;
      ASSERT_TRUE(m.read("("));
    }
    expect_exact(m, FrameArena::kMaxDepth);
    EXPECT_FALSE(m.can_read("("));
    EXPECT_FALSE(m.can_read("["));
    EXPECT_FALSE(m.read("(x"));
    ASSERT_TRUE(m.read("x)"));  // a refused read left the stacks as they were
    expect_exact(m, FrameArena::kMaxDepth - 1);
  }
  Matcher m(g);
  ASSERT_TRUE(m.read(std::string(FrameArena::kMaxDepth, '(') + "x" + std::string(FrameArena::kMaxDepth, ')')));
  EXPECT_TRUE(m.complete());
}

// Ambiguous nesting through a rule that may be empty: after n `(` a mask walks on below about n callers, each
// over most of the vocabulary. Past Matcher::kMaskVisits the matcher stops and fails, rather than hold up every
// sequence of the batch for seconds a token; a grammar under the budget is not affected.
TEST(MatcherTest, AMaskPastItsBudgetFailsAndAllowsNothing) {
  const Grammar nullable = parse_gbnf("root ::= e\ne ::= f \")\" | \"\" | \"x\"\nf ::= \"(\" (e+)+ [(+ ab]+");
  std::mt19937 rng(3);
  std::vector<std::string> vocab = {"(", ")", "x", "+", " ", "a", "b"};
  while (vocab.size() < 100000) {  // many long ones
    std::string token = random_text(rng, "()x+ ab((", 8);
    if (!token.empty()) vocab.push_back(token);
  }
  vocab.emplace_back();  // the end token
  const auto g = compiled(nullable, vocab, {TokenId(vocab.size() - 1)});
  Matcher m(g);
  std::vector<uint64_t> allowed((vocab.size() + 63) / 64);
  m.allowed(allowed);
  EXPECT_TRUE(m.failure().empty()) << m.failure();
  ASSERT_TRUE(m.read(std::string(120, '(')));
  std::fill(allowed.begin(), allowed.end(), 0);
  m.allowed(allowed);
  EXPECT_NE(m.failure().find("the mask for the next token took more than 16777216 steps"), std::string_view::npos)
      << m.failure();
  std::fill(allowed.begin(), allowed.end(), 0);
  m.allowed(allowed);  // failed for good: nothing allowed, not even the end
  EXPECT_TRUE(std::all_of(allowed.begin(), allowed.end(), [](uint64_t w) { return w == 0; }));
  EXPECT_FALSE(m.finished());
}

TEST(MatcherTest, FinishesWhenNothingMayFollowAndEndsOnAnEndToken) {
  Grammar g;
  g.set_root(g.add_rule("root", g.literal("yes")));
  const auto grammar = compiled(g, {"y", "es", "yes", "no", ""}, {4});
  Matcher m(grammar);
  EXPECT_FALSE(m.finished());
  std::vector<uint64_t> allowed(1);
  m.allowed(allowed);
  EXPECT_EQ(allowed[0], 0b101u);  // "y" and "yes"
  m.accept(0);
  m.accept(1);
  EXPECT_TRUE(m.finished());
  allowed[0] = 0;
  m.allowed(allowed);
  EXPECT_EQ(allowed[0], 0b10000u);  // only the end token
}

TEST(MatcherTest, LeftRecursionIsRefusedAtCompile) {
  Grammar g;
  const RuleId list = g.declare("list");
  g.define(list, g.choice({g.sequence({g.reference(list), g.byte('a')}), g.byte('a')}));
  g.set_root(list);
  EXPECT_THROW(Automaton::compile(g), GrammarError);
}

}  // namespace
}  // namespace rs::grammar
