#pragma once
// Left recursion: a rule that can come back to itself before consuming a
// byte, directly (a ::= a "x"), through other rules, or past parts that may
// match nothing (a ::= b? a "x"). A matcher that expands rules top-down
// would never stop on one, so grammars that have one are refused.
#include "core/grammar/grammar.h"

namespace rs::grammar {

// Throws GrammarError naming a left-recursive rule and its way back to
// itself ("rule 'a' is left-recursive: a -> b -> a"). Rules not defined yet
// are taken to match nothing.
void check_no_left_recursion(const Grammar& grammar);

}  // namespace rs::grammar
