#include "core/grammar/json_schema.h"

#include <gtest/gtest.h>

#include <initializer_list>
#include <string>

#include "core/grammar/automaton.h"

namespace rs::grammar {
namespace {

// Every text of `valid` is in the schema's language, and none of `invalid`.
void expect_schema_language(std::string_view schema, std::initializer_list<std::string_view> valid,
                     std::initializer_list<std::string_view> invalid) {
  const Grammar grammar = json_schema_grammar(schema);
  for (const std::string_view text : valid) {
    EXPECT_TRUE(matches(grammar, text)) << schema << " should accept " << text;
  }
  for (const std::string_view text : invalid) {
    EXPECT_FALSE(matches(grammar, text)) << schema << " should reject " << text;
  }
}

// The GrammarError the schema is refused with ("" when it compiles).
std::string schema_error_of(std::string_view schema) {
  try {
    json_schema_grammar(schema);
  } catch (const GrammarError& e) {
    return e.what();
  }
  return "";
}

TEST(JsonSchemaTest, NoConstraintIsAnyJsonValue) {
  for (const std::string_view schema : {"{}", "true", R"({"title":"anything","description":"at all"})"}) {
    expect_schema_language(schema,
                    {"1", "-2.5e3", R"("x")", "true", "null", "[]", "{}", R"({"a":[1,{"b":null}],"c":"d"})",
                     "[1, 2,\n  3]", "{ \"a\" : 1 }"},
                    {"", " 1", "1 ", "01", "[1,]", "{\"a\":}", "{'a':1}", "[1 2]", "nul", "\"\x01\"", "{\"a\":1,}"});
  }
  expect_schema_language("false", {}, {"1", "{}", "null"});
}

TEST(JsonSchemaTest, StringsAreJsonStringsOfValidUtf8) {
  expect_schema_language(R"({"type":"string"})",
                  {R"("")", R"("hello")", R"("\" \\ \/ \b \f \n \r \t")", R"("\u00e9\u20AC")", R"("\ud83d\ude00")",
                   "\"h\xC3\xA9llo \xF0\x9F\x98\x80\""},
                  {"hello", R"("a)", R"("a"b")", R"("\x")", R"("\u12")", R"("\ud83d")", R"("\ude00")", "\"a\nb\"",
                   "\"\t\"", "\"\xC3\"", "\"\xED\xA0\x80\"", "1"});
}

TEST(JsonSchemaTest, StringLengthsCountCodePoints) {
  expect_schema_language(R"({"type":"string","minLength":2,"maxLength":3})",
                  {R"("ab")", R"("abc")", "\"\xC3\xA9\xE2\x82\xAC\"", R"("\n\t")", R"("\ud83d\ude00x")",
                   "\"\xF0\x9F\x98\x80\xF0\x9F\x98\x80\""},
                  {R"("a")", R"("abcd")", R"("")", R"("\ud83d\ude00")", "\"\xF0\x9F\x98\x80\""});
  expect_schema_language(R"({"type":"string","minLength":1})", {R"("a")", R"("a long one")"}, {R"("")"});
  expect_schema_language(R"({"type":"string","maxLength":0})", {R"("")"}, {R"("a")"});
  EXPECT_EQ(schema_error_of(R"({"type":"string","maxLength":1001})"), "maxLength at the root above 1000 is not supported");
  EXPECT_EQ(schema_error_of(R"({"type":"string","minLength":3,"maxLength":2})"), "minLength at the root is above maxLength");
  EXPECT_EQ(schema_error_of(R"({"type":"string","minLength":-1})"), "minLength at the root must be a non-negative integer");
}

TEST(JsonSchemaTest, PatternsConstrainUnescapedContent) {
  expect_schema_language(R"({"type":"string","pattern":"^[a-z]+-[0-9]{2}$"})", {R"("abc-12")", R"("x-00")"},
                  {R"("abc-1")", R"("ABC-12")", R"("abc-123")", R"("\u0061bc-12")", "abc-12"});
  // A character JSON must escape cannot appear, so the pattern holds of the decoded string.
  expect_schema_language(R"({"type":"string","pattern":"a.c"})", {R"("abc")", "\"a\u00E9c\""},
                  {R"("a\"c")", R"("a\\c")", R"("a\nc")", "\"a\nc\""});
  EXPECT_NE(schema_error_of(R"j({"type":"string","pattern":"(?=a)"})j").find("pattern at the root is not usable"),
            std::string::npos);
  EXPECT_EQ(schema_error_of(R"({"type":"string","pattern":"a+","maxLength":3})"),
            "maxLength at the root alongside pattern is not supported");
}

TEST(JsonSchemaTest, Formats) {
  expect_schema_language(R"({"type":"string","format":"date"})", {R"("2024-02-29")", R"("1999-12-31")"},
                  {R"("2024-13-01")", R"("2024-1-01")", R"("2024-01-32")", R"("24-01-01")"});
  expect_schema_language(R"({"type":"string","format":"time"})", {R"("23:59:59Z")", R"("08:30:00.123+02:00")"},
                  {R"("24:00:00Z")", R"("08:30:00")", R"("08:60:00Z")", R"("08:30:00.1Z")"});
  expect_schema_language(R"({"type":"string","format":"date-time"})",
                  {R"("2024-05-01T12:00:00Z")", R"("2024-05-01T12:00:00-05:30")"},
                  {R"("2024-05-01 12:00:00Z")", R"("2024-05-01T12:00Z")"});
  expect_schema_language(R"({"type":"string","format":"uuid"})", {R"("123e4567-e89b-12d3-a456-426614174000")"},
                  {R"("123e4567e89b12d3a456426614174000")", R"("123e4567-e89b-12d3-a456-42661417400g")"});
  expect_schema_language(R"({"type":"string","format":"ipv4"})", {R"("192.168.0.1")", R"("0.0.0.0")", R"("255.255.255.255")"},
                  {R"("256.1.1.1")", R"("1.2.3")", R"("01.2.3.4")"});
  expect_schema_language(R"({"type":"string","format":"email"})", {R"("a.b+c@example.co.uk")", R"("x@y.io")"},
                  {R"("a@b")", R"("@b.com")", R"("a..b@c.com")", R"("a@-b.com")", R"("a b@c.com")"});
  EXPECT_EQ(schema_error_of(R"({"type":"string","format":"uri"})"), "format at the root 'uri' is not supported");
}

TEST(JsonSchemaTest, NumbersAndIntegersHaveJsonSyntax) {
  expect_schema_language(R"({"type":"number"})", {"0", "-0", "1.5", "-1.5e10", "1E+2", "0.0", "10e-3", "123"},
                  {"01", "1.", ".5", "+1", "1e", "-", "NaN", "Infinity", "0x10", "1.5.2"});
  expect_schema_language(R"({"type":"integer"})", {"0", "-12", "1234567890123"}, {"1.0", "01", "1e2", "-", "+1", "--1"});
  expect_schema_language(R"({"type":"boolean"})", {"true", "false"}, {"True", "1", "\"true\""});
  expect_schema_language(R"({"type":"null"})", {"null"}, {"Null", "0", "\"\""});
}

// Every integer in [lowest, highest] is accepted exactly when in_range says so.
void expect_integer_range(std::string_view schema, int lowest, int highest, auto in_range) {
  const Grammar grammar = json_schema_grammar(schema);
  for (int v = lowest; v <= highest; ++v) {
    EXPECT_EQ(matches(grammar, std::to_string(v)), in_range(v)) << schema << " " << v;
  }
  EXPECT_FALSE(matches(grammar, "-0")) << schema;
  EXPECT_FALSE(matches(grammar, "007")) << schema;
}

TEST(JsonSchemaTest, IntegerBoundsAreExact) {
  expect_integer_range(R"({"type":"integer","minimum":0})", -150, 1500, [](int v) { return v >= 0; });
  expect_integer_range(R"({"type":"integer","minimum":37})", -150, 1500, [](int v) { return v >= 37; });
  expect_integer_range(R"({"type":"integer","maximum":100})", -1500, 1500, [](int v) { return v <= 100; });
  expect_integer_range(R"({"type":"integer","maximum":-42})", -1500, 150, [](int v) { return v <= -42; });
  expect_integer_range(R"({"type":"integer","minimum":-5,"maximum":12})", -150, 150,
                       [](int v) { return v >= -5 && v <= 12; });
  expect_integer_range(R"({"type":"integer","minimum":123,"maximum":4567})", 0, 6000,
                       [](int v) { return v >= 123 && v <= 4567; });
  expect_integer_range(R"({"type":"integer","minimum":-1234,"maximum":-98})", -2000, 10,
                       [](int v) { return v >= -1234 && v <= -98; });
  expect_integer_range(R"({"type":"integer","exclusiveMinimum":0,"exclusiveMaximum":10})", -20, 20,
                       [](int v) { return v > 0 && v < 10; });
  expect_integer_range(R"({"type":"integer","minimum":1.5,"maximum":7.9})", -20, 20,
                       [](int v) { return v >= 2 && v <= 7; });
  expect_integer_range(R"({"type":"integer","minimum":3,"exclusiveMinimum":5,"maximum":9,"exclusiveMaximum":20})", 0,
                       30, [](int v) { return v > 5 && v <= 9; });
  expect_schema_language(R"({"type":"integer","minimum":0})", {"98765432109876543210"}, {"-98765432109876543210", "1.5"});
  EXPECT_EQ(schema_error_of(R"({"type":"integer","minimum":5,"maximum":4})"),
            "minimum at the root is above maximum: no integer is allowed");
  EXPECT_EQ(schema_error_of(R"({"type":"integer","minimum":1e300})"),
            "minimum at the root is beyond the supported range (±2^53)");
  EXPECT_EQ(schema_error_of(R"({"type":"number","minimum":0})"), "minimum at the root is only supported on integers");
  EXPECT_EQ(schema_error_of(R"({"type":"integer","multipleOf":2})"), "multipleOf at the root is not supported");
  EXPECT_EQ(schema_error_of(R"({"type":"integer","exclusiveMinimum":true,"minimum":1})"),
            "exclusiveMinimum at the root must be a number");
}

TEST(JsonSchemaTest, TypeListsAndNullable) {
  expect_schema_language(R"({"type":["string","null"]})", {R"("x")", "null"}, {"1", "[]"});
  expect_schema_language(R"({"type":["integer","boolean"],"minimum":1})", {"1", "true"}, {"0", "\"1\""});
  expect_schema_language(R"({"type":"string","nullable":true,"maxLength":1})", {R"("x")", "null"}, {R"("xy")", "1"});
  EXPECT_EQ(schema_error_of(R"({"type":"strin"})"), "type at the root 'strin' is not a JSON type");
  EXPECT_EQ(schema_error_of(R"({"type":[]})"), "type at the root lists no type");
  EXPECT_EQ(schema_error_of(R"({"nullable":"yes"})"), "nullable at the root must be a boolean");
}

TEST(JsonSchemaTest, EnumAndConstAreCompactLiterals) {
  expect_schema_language(R"({"enum":["red","green",1,null,{"a":[1,2]},"say \"hi\"","\u00e9"]})",
                  {R"("red")", R"("green")", "1", "null", R"({"a":[1,2]})", R"("say \"hi\"")", "\"\xC3\xA9\""},
                  {R"("blue")", R"("Red")", "2", R"("1")", R"("say "hi"")"});
  expect_schema_language(R"({"const":"fixed","description":"d"})", {R"("fixed")"}, {R"("other")"});
  expect_schema_language(R"({"type":"string","enum":["a",1,"b"]})", {R"("a")", R"("b")"}, {"1"});
  expect_schema_language(R"({"type":"integer","enum":[1,2.0,2.5]})", {"1", "2.0"}, {"2.5"});
  EXPECT_EQ(schema_error_of(R"({"type":"string","enum":[1]})"), "enum at the root allows no value of the schema's type");
  EXPECT_EQ(schema_error_of(R"({"enum":"red"})"), "enum at the root must be an array");
  EXPECT_EQ(schema_error_of(R"({"enum":["a"],"maxLength":3})"), "maxLength at the root alongside enum is not supported");
  EXPECT_EQ(schema_error_of(R"({"enum":["a"],"const":"a"})"), "const at the root alongside enum is not supported");
}

constexpr std::string_view kPerson = R"({
  "type": "object",
  "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
  "required": ["name"]
})";

TEST(JsonSchemaTest, ObjectsKeepSchemaOrderAndRequiredProperties) {
  expect_schema_language(kPerson,
                  {R"({"name":"x","age":3})", R"({"name": "x", "age": 3})", R"({"name":"x"})",
                   "{\n  \"name\": \"x\",\n  \"age\": 3\n}", "{ \"name\" : \"x\" }", "{\n\t\"name\":\"x\"\n}"},
                  {R"({"age":3})", R"({})", R"({"name":"x",})", R"({"age":3,"name":"x"})", R"({"name":"x","extra":1})",
                   R"({"name":"x","age":"3"})", R"({"name":1})", R"({"name":  "x"})", " {\"name\":\"x\"}",
                   "{\"name\":\"x\"} ", "{\r\n\"name\":\"x\"}", R"({"name":"x","name":"y"})"});
  // An indent is at most 20 spaces or tabs.
  const auto indented = [](size_t indent) { return std::string("{\n").append(indent, ' ').append(R"("name":"x"})"); };
  expect_schema_language(kPerson, {indented(20)}, {indented(21)});
}

TEST(JsonSchemaTest, OptionalPropertiesKeepCommasRight) {
  const std::string_view schema = R"({"properties":{"a":{"const":1},"b":{"const":2},"c":{"const":3}}})";
  const Grammar grammar = json_schema_grammar(schema);
  for (int subset = 0; subset < 8; ++subset) {
    std::string text = "{";
    for (int i = 0; i < 3; ++i) {
      if ((subset >> i & 1) == 0) continue;
      if (text.size() > 1) text += ",";
      text.append("\"").append(1, char('a' + i)).append("\":").append(std::to_string(i + 1));
    }
    EXPECT_TRUE(matches(grammar, text + "}")) << text;
  }
  for (const std::string_view no : {R"({,"b":2})", R"({"a":1,,"c":3})", R"({"a":1,"c":3,})", R"({"a":1 "b":2})",
                                    R"({"a":1,})", R"({"b":2"c":3})", R"({"c":3,"a":1})"}) {
    EXPECT_FALSE(matches(grammar, no)) << no;
  }
  expect_schema_language(R"({"properties":{"a":{"const":1},"b":{"const":2},"c":{"const":3}},"required":["b"]})",
                  {R"({"b":2})", R"({"a":1,"b":2})", R"({"b":2,"c":3})", R"({"a":1,"b":2,"c":3})"},
                  {R"({})", R"({"a":1})", R"({"a":1,"c":3})", R"({,"b":2})", R"({"b":2,})"});
}

TEST(JsonSchemaTest, ManyOptionalPropertiesStaySmall) {
  std::string schema = R"({"type":"object","properties":{)";
  for (int i = 0; i < 40; ++i) {
    schema.append(i ? ",\"p" : "\"p").append(std::to_string(i)).append(R"(":{"type":"integer"})");
  }
  schema += "}}";
  const Grammar grammar = json_schema_grammar(schema);
  EXPECT_LT(grammar.expr_count(), 2000u);
  EXPECT_TRUE(matches(grammar, R"({"p3":1,"p17":-2,"p39":3})"));
  EXPECT_FALSE(matches(grammar, R"({"p17":1,"p3":2})"));
  // Linear in the properties: about 150 states each (a layout that copies what follows each possible first member
  // would need over 100,000).
  EXPECT_LT(Automaton::compile(grammar).state_count(), 40u * 200);
}

TEST(JsonSchemaTest, AdditionalProperties) {
  expect_schema_language(R"({"type":"object","properties":{"a":{"type":"integer"}},"additionalProperties":{"type":"string"}})",
                  {R"({})", R"({"a":1})", R"({"a":1,"x":"y"})", R"({"x":"y","z":"w"})", R"({"a": 1, "x": "y"})"},
                  {R"({"x":1})", R"({"x":"y","a":1})", R"({"a":1,"x":"y",})", R"({"a":1,,"x":"y"})"});
  expect_schema_language(
      R"({"type":"object","properties":{"a":{"type":"integer"}},"required":["a"],"additionalProperties":true})",
      {R"({"a":1})", R"({"a":1,"b":[null],"c":{}})"}, {R"({"b":1})", R"({})"});
  expect_schema_language(R"({"type":"object"})", {R"({})", R"({"anything":[1,{"b":null}]})"}, {"[]", "1"});
  expect_schema_language(R"({"type":"object","additionalProperties":false})", {R"({})", "{ }"}, {R"({"a":1})"});
  expect_schema_language(R"({"type":"object","additionalProperties":{"type":"integer"}})", {R"({"a":1,"b":2})"},
                  {R"({"a":"1"})"});
}

TEST(JsonSchemaTest, PropertyNamesAreEscapedLiterals) {
  expect_schema_language(R"({"properties":{"say \"hi\"":{"const":1},"caf\u00e9":{"const":2},"a/b~c":{"const":3}}})",
                  {R"({"say \"hi\"":1})", "{\"caf\xC3\xA9\":2}", R"({"a/b~c":3})"}, {R"({"say "hi"":1})"});
}

TEST(JsonSchemaTest, ArraysCountItems) {
  expect_schema_language(R"({"type":"array","items":{"type":"integer"},"minItems":1,"maxItems":3})",
                  {"[1]", "[1, 2, 3]", "[1,2,3]", "[ 1 ]", "[\n  1,\n  2\n]"},
                  {"[]", "[1,2,3,4]", "[1,]", "[\"a\"]", "[,1]", "[1 2]"});
  expect_schema_language(R"({"type":"array","items":{"type":"string"}})", {"[]", "[ ]", R"(["a","b"])"}, {"[1]", R"(["a",])"});
  expect_schema_language(R"({"type":"array"})", {"[]", R"([1,"a",{"b":[]}])"}, {"{}"});
  expect_schema_language(R"({"type":"array","minItems":2})", {"[1,2]", "[1,2,3]"}, {"[]", "[1]"});
  expect_schema_language(R"({"type":"array","maxItems":0})", {"[]"}, {"[1]"});
  expect_schema_language(R"({"type":"array","items":false})", {"[]"}, {"[1]"});
  expect_schema_language(R"({"type":"array","uniqueItems":false})", {"[1,1]"}, {});
  EXPECT_EQ(schema_error_of(R"({"type":"array","maxItems":1001})"), "maxItems at the root above 1000 is not supported");
  EXPECT_EQ(schema_error_of(R"({"type":"array","minItems":3,"maxItems":2})"), "minItems at the root is above maxItems");
  EXPECT_EQ(schema_error_of(R"({"type":"array","uniqueItems":true})"), "uniqueItems at the root is not supported");
  EXPECT_EQ(schema_error_of(R"({"type":"array","contains":{"type":"integer"}})"), "contains at the root is not supported");
  EXPECT_EQ(schema_error_of(R"({"properties":{"tags":{"type":"array","uniqueItems":true}}})"),
            "uniqueItems at /properties/tags is not supported");
}

TEST(JsonSchemaTest, TuplesArePrefixItemsThenItems) {
  expect_schema_language(R"({"type":"array","prefixItems":[{"type":"string"},{"type":"integer"}]})",
                  {R"(["a",1])", R"([ "a", 1 ])"}, {R"(["a"])", R"([1,"a"])", R"(["a",1,2])", "[]"});
  expect_schema_language(R"({"type":"array","prefixItems":[{"type":"string"}],"items":{"type":"boolean"},"maxItems":3})",
                  {R"(["a"])", R"(["a",true])", R"(["a",true,false])"},
                  {R"(["a",true,false,true])", R"(["a",1])", "[]"});
  expect_schema_language(R"({"type":"array","prefixItems":[{"type":"string"}],"items":{"type":"boolean"},"minItems":3})",
                  {R"(["a",true,false])"}, {R"(["a",true])"});
  expect_schema_language(
      R"({"type":"array","items":[{"type":"string"},{"type":"integer"}],"additionalItems":{"type":"null"}})",
      {R"(["a",1])", R"(["a",1,null,null])"}, {R"(["a",1,2])"});
  EXPECT_EQ(schema_error_of(R"({"type":"array","prefixItems":[{},{}],"maxItems":1})"),
            "maxItems at the root is below the number of prefixItems");
  EXPECT_EQ(schema_error_of(R"({"type":"array","prefixItems":[{}],"minItems":2})"),
            "minItems at the root is above the number of items the schema allows");
  EXPECT_EQ(schema_error_of(R"({"type":"array","items":{},"additionalItems":false})"),
            "additionalItems at the root is only supported with an array of items");
}

TEST(JsonSchemaTest, RefsToDefinitionsAndTheRoot) {
  expect_schema_language(R"({
    "$defs": {"Person": {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}},
    "type": "array", "items": {"$ref": "#/$defs/Person"}
  })",
                  {R"([{"name":"a"},{"name":"b"}])", "[]"}, {R"([{"name":1}])", R"([{}])"});
  expect_schema_language(
      R"({"definitions":{"n":{"type":"integer"}},"properties":{"x":{"$ref":"#/definitions/n","description":"d"}}})",
      {R"({"x":1})"}, {R"({"x":"1"})"});
  // A tree: the root refers to itself.
  expect_schema_language(
      R"({"type":"object","properties":{"value":{"type":"integer"},"children":{"type":"array","items":{"$ref":"#"}}},
                      "required":["value"]})",
      {R"({"value":1})", R"({"value":1,"children":[{"value":2,"children":[{"value":3}]},{"value":4}]})"},
      {R"({"value":1,"children":[{}]})", R"({"value":1,"children":[{"value":"2"}]})"});
  // Mutual recursion through definitions, with JSON Pointer escapes.
  expect_schema_language(
      R"({"$defs":{"a/b":{"type":"array","items":{"$ref":"#/$defs/c~0d"}},"c~d":{"anyOf":[{"type":"integer"},{"$ref":"#/$defs/a~1b"}]}},
                      "$ref":"#/$defs/a~1b"})",
      {"[]", "[1,[2,[]],3]"}, {"1", "[[\"x\"]]"});
  EXPECT_EQ(
      schema_error_of(R"({"$ref":"https://example.com/schema.json"})"),
      "$ref at the root 'https://example.com/schema.json' is not supported: only '#' and '#/…' within the schema are");
  EXPECT_EQ(schema_error_of(R"({"$ref":"#/$defs/Missing"})"),
            "$ref at the root '#/$defs/Missing' points to nothing in the schema");
  EXPECT_EQ(schema_error_of(R"({"$ref":"#/$defs/A","type":"object"})"), "type at the root alongside $ref is not supported");
  EXPECT_EQ(schema_error_of(R"({"$defs":{"A":{"not":{}}},"items":{"$ref":"#/$defs/A"}})"), "not at /$defs/A is not supported");
}

TEST(JsonSchemaTest, Combinators) {
  expect_schema_language(R"({"anyOf":[{"type":"string"},{"type":"integer"}]})", {R"("a")", "1"}, {"1.5", "null"});
  expect_schema_language(R"({"oneOf":[{"type":"string","maxLength":1},{"type":"null"}]})", {R"("a")", "null"}, {R"("ab")"});
  expect_schema_language(R"({"allOf":[{"type":"boolean"}],"description":"one"})", {"true"}, {"1"});
  EXPECT_EQ(schema_error_of(R"({"allOf":[{"type":"integer"},{"minimum":1}]})"),
            "allOf at the root with other than one subschema is not supported");
  EXPECT_EQ(schema_error_of(R"({"anyOf":[]})"), "anyOf at the root lists no schema");
  EXPECT_EQ(schema_error_of(R"({"anyOf":[{"type":"string"}],"minLength":1})"),
            "minLength at the root alongside anyOf is not supported");
  EXPECT_EQ(schema_error_of(R"({"not":{"type":"string"}})"), "not at the root is not supported");
  EXPECT_EQ(schema_error_of(R"({"if":{},"then":{}})"), "if at the root is not supported");
  EXPECT_EQ(schema_error_of(R"({"anyOf":[{"type":"string"},{"not":{}}]})"), "not at /anyOf/1 is not supported");
}

TEST(JsonSchemaTest, AnnotationsAreIgnoredAndOtherKeywordsRefused) {
  expect_schema_language(R"({"$schema":"https://json-schema.org/draft/2020-12/schema","$id":"x","$comment":"c","title":"t",
                      "description":"d","default":1,"examples":[1],"deprecated":false,"readOnly":true,"writeOnly":false,
                      "strict":true,"type":"integer"})",
                  {"1"}, {"\"1\""});
  EXPECT_EQ(schema_error_of(R"({"properties":{"a":{"patternProperties":{"^x":{}}}}})"),
            "patternProperties at /properties/a is not supported");
  EXPECT_EQ(schema_error_of(R"({"type":"object","minProperties":1})"), "minProperties at the root is not supported");
  EXPECT_EQ(schema_error_of(R"({"type":"object","propertyNames":{}})"), "propertyNames at the root is not supported");
  EXPECT_EQ(schema_error_of(R"({"type":"object","dependentRequired":{}})"), "dependentRequired at the root is not supported");
  EXPECT_EQ(schema_error_of(R"({"properties":{"a/b":{"foo":1}}})"), "foo at /properties/a~1b is not supported");
}

TEST(JsonSchemaTest, MalformedSchemasAreErrors) {
  EXPECT_NE(schema_error_of(R"({"type":)").find("the schema is not valid JSON"), std::string::npos);
  EXPECT_EQ(schema_error_of("3"), "the schema at the root is neither an object nor a boolean");
  EXPECT_EQ(schema_error_of(R"({"properties":{"a":{}},"required":"a"})"), "required at the root must be an array");
  EXPECT_EQ(schema_error_of(R"({"properties":{"a":{}},"required":[1]})"), "required at the root must be a string");
  EXPECT_EQ(schema_error_of(R"({"properties":{"a":{}},"required":["b"]})"),
            "required at the root names 'b', which properties does not list");
  EXPECT_EQ(schema_error_of(R"({"properties":[]})"), "properties at the root must be an object");
  EXPECT_EQ(schema_error_of(R"({"properties":{"a":1}})"), "the schema at /properties/a is neither an object nor a boolean");
  EXPECT_EQ(schema_error_of(R"({"type":"string","pattern":1})"), "pattern at the root must be a string");
}

TEST(JsonSchemaTest, PathologicalSchemasAreRefused) {
  std::string deep;
  for (int i = 0; i < 70; ++i) deep += R"({"type":"array","items":)";
  deep.append("{}").append(70, '}');
  EXPECT_NE(schema_error_of(deep).find("the schema nests more than 64 levels deep"), std::string::npos);
  std::string huge = R"({"enum":[)";
  for (int i = 0; i < 20000; ++i) {
    huge.append(i ? ",\"value number " : "\"value number ").append(std::to_string(i)).append("\"");
  }
  huge += "]}";
  EXPECT_NE(schema_error_of(huge).find("the schema is too large"), std::string::npos);
}

TEST(JsonSchemaTest, SchemasShareHelperRulesInOneGrammar) {
  Grammar grammar;
  const RuleId a = add_json_schema(grammar, R"({"type":"object","properties":{"s":{"type":"string"}}})", "tool-a");
  const RuleId b = add_json_schema(grammar, R"({"type":"array","items":{"type":"string"}})", "tool-b");
  grammar.set_root(grammar.add_rule("root", grammar.choice({grammar.reference(a), grammar.reference(b)})));
  EXPECT_TRUE(matches(grammar, R"({"s":"x"})"));
  EXPECT_TRUE(matches(grammar, R"(["x", "y"])"));
  EXPECT_FALSE(matches(grammar, R"({"s":1})"));
  EXPECT_EQ(grammar.to_gbnf().find("ws-2"), std::string::npos);
  EXPECT_EQ(grammar.to_gbnf().find("json-string-2"), std::string::npos);
  EXPECT_THROW(add_json_schema(grammar, "{}", "tool-a"), GrammarError);
}

TEST(JsonSchemaTest, JsonObjectModeIsAnyObject) {
  const Grammar grammar = json_object_grammar();
  for (const std::string_view yes : {"{}", R"({"a":[1,{"b":null}],"c":"d"})", "{\n  \"x\": true\n}"}) {
    EXPECT_TRUE(matches(grammar, yes)) << yes;
  }
  for (const std::string_view no : {"[]", "1", R"("x")", "null", R"({"a"})", "{} "}) {
    EXPECT_FALSE(matches(grammar, no)) << no;
  }
  EXPECT_NO_THROW(Automaton::compile(grammar));
}

}  // namespace
}  // namespace rs::grammar
