#pragma once
// JSON Schema compiled to a grammar whose language is JSON texts valid
// against it, in one layout: object properties in the schema's order (those
// listed in `required` must appear, the others may), whitespace between
// tokens as llama.cpp's converter allows it (nothing, one space, or a newline
// and up to 20 spaces or tabs of indent), no whitespace around the root.
//
// Where the schema allows more than that layout the grammar allows a part of
// it, never more: without `additionalProperties` an object with `properties`
// has no other keys (XGrammar's strict mode), and a tuple without a schema for
// further items has no more; enum and const values are written compactly; a
// `pattern` or `format` string has no escapes, and its regex matches the whole
// content, anchored or not; formats (date, time, date-time, uuid, ipv4, email)
// take simple forms, as in llama.cpp. Two gaps remain: oneOf is compiled as
// anyOf, and a key additionalProperties allows may repeat a listed one.
//
// A schema feature the grammar cannot express is a GrammarError naming the
// keyword and the schema path (e.g. "uniqueItems at /properties/tags is not
// supported"), never a silently looser grammar. So are a malformed schema, a
// $ref outside the document, bounds on numbers other than integers, and sizes
// past the limits (nesting deeper than 64, lengths or item counts above 1000).
#include <string_view>

#include "core/grammar/grammar.h"

namespace rs::grammar {

// Adds the rules of `schema_json` (a JSON Schema document) to `grammar`
// and returns the rule matching one instance. `name` names that rule, and
// each $ref target's rule starts with it; helper rules (ws, json-string,
// json-char, json-number, json-integer, json-value, json-object, json-array)
// are shared by name with every schema added to the grammar. After a
// GrammarError the grammar may hold rules declared and never defined.
RuleId add_json_schema(Grammar& grammar, std::string_view schema_json, std::string_view name);
// A grammar whose root matches `schema_json`'s instances.
Grammar json_schema_grammar(std::string_view schema_json);
// OpenAI's {"type":"json_object"}: any JSON object.
Grammar json_object_grammar();

}  // namespace rs::grammar
