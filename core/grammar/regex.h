#pragma once
// Regular expressions (the syntax JSON Schema's `pattern` and vLLM's
// guided_regex use: ECMAScript/Python's common subset) compiled to grammar
// expressions over UTF-8 bytes.
//
// Supported: literals (UTF-8) and escapes (\n \t \r \f \v \0 \xHH \uHHHH
// \u{H…} \UHHHHHHHH, escaped punctuation), `.` (any code point but \n),
// classes [...] with ranges, negation and escapes, \d \w \s \D \W \S (in
// ASCII: [0-9], [A-Za-z0-9_], [ \t\n\r\f\v]; also inside classes), groups
// (…) and (?:…), named groups (?<n>…) and (?P<n>…), alternation, quantifiers
// * + ? {m} {m,} {m,n} with counts up to 1000 (lazy forms accepted: they
// match the same strings in full), a brace that starts no quantifier as
// itself, and ^ / $ at the start / end of the pattern's alternatives, where
// they are implied anyway. Refused with a GrammarError naming the feature and
// its offset: backreferences, lookaround, atomic groups, possessive
// quantifiers, \b \B, anchors elsewhere, inline flags, \p{…}, POSIX classes,
// and what the two dialects read differently ({,n}, a ']' first in a class).
// Malformed patterns are GrammarErrors too, as are patterns over 64 KiB or
// with groups nested over 100 deep.
#include <string_view>

#include "core/grammar/grammar.h"

namespace rs::grammar {

// The expression matching exactly the strings `pattern` matches in full.
ExprId add_regex(Grammar& grammar, std::string_view pattern);
// A grammar whose root is add_regex(pattern).
Grammar regex_grammar(std::string_view pattern);

}  // namespace rs::grammar
