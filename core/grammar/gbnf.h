#pragma once
// GBNF, llama.cpp's grammar notation (grammars/README.md there), read into a
// Grammar: rules `name ::= alternatives`, string literals with escapes,
// character classes [...] and [^...] over code points, `.`, groups, `*` `+`
// `?` `{m}` `{m,}` `{m,n}`, comments from `#`. The root is the rule `root`.
// As in llama.cpp, escapes (\xHH too) name code points, not bytes, and a
// newline ends a rule except after `::=` or `|` or inside parentheses.
// Refused: left recursion (left_recursion.h), a rule defined twice, counts
// above 1000, parentheses nested over 100 deep, texts over 256 KiB.
#include <string_view>

#include "core/grammar/grammar.h"

namespace rs::grammar {

// Throws GrammarError naming the line and column of a syntax error or of an
// undefined rule's first use, or saying that the root is missing.
Grammar parse_gbnf(std::string_view text);

}  // namespace rs::grammar
