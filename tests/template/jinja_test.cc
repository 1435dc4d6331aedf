// The interpreter against Python's jinja2 in transformers' configuration:
// each table's expected output is what jinja2 3.1.6 renders (produced with
// ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)), then
// errors with their lines, and the limits that keep a hostile template bounded.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/template/error.h"
#include "core/template/json.h"
#include "core/template/template.h"

namespace rs::jinja {
namespace {

struct Case {
  const char* source;
  const char* expected;
};

const Object& variables() {
  static const Value parsed = value_from_json(R"({
    "messages": [{"role": "system", "content": " Be brief. "}, {"role": "user", "content": "Hi"},
                 {"role": "assistant", "content": "Hello"}],
    "d": {"b": 2, "a": 1}, "words": ["b", "A", "c"], "nums": [3, 1, 2], "text": "héllo wörld", "none_value": null})");
  return parsed.as_object();
}

std::string render(std::string_view source, const Object& vars = variables()) {
  return Template(source, "test").render(vars);
}

// The error rendering (or parsing) `source` raises.
TemplateError error_of(std::string_view source) {
  try {
    render(source);
  } catch (const TemplateError& e) {
    return e;
  }
  ADD_FAILURE() << "no error from: " << source;
  return TemplateError("test", 0, "");
}

template <size_t N>
void expect_renders(const Case (&cases)[N]) {
  for (const Case& c : cases) {
    try {
      EXPECT_EQ(render(c.source), c.expected) << "template: " << c.source;
    } catch (const TemplateError& e) {
      ADD_FAILURE() << "template: " << c.source << "\nerror: " << e.what();
    }
  }
}

constexpr Case kWhitespace[] = {
    {"a  {{- 'b' -}}  c", "abc"},
    {"a\n  {%- if true -%}\n  b\n  {%- endif -%}\n  c", "abc"},
    {"{% if true %}\nline\n{% endif %}\nafter", "line\nafter"},
    {"{{ 'a' }}\n{{ 'b' }}\n", "a\nb"},
    {"  {% if true %}\n  indented\n  {% endif %}\n", "  indented\n"},
    {"  {%+ if true %}kept{% endif %}", "  kept"},
    {"{% if true +%}\nkept newline{% endif %}", "\nkept newline"},
    {"x {# comment #} y\n{# whole line #}\nz", "x  y\nz"},
    {"a {#- trimmed -#} b", "ab"},
    {"a\r\nb\rc\n", "a\nb\nc"},
    {"{% raw %}{{ not rendered }} {% if %}{% endraw %}", "{{ not rendered }} {% if %}"},
    {"text  \n    {% for i in [1, 2] %}\n    {{ i }}\n    {% endfor %}\n", "text  \n    1\n    2\n"},
    {"{%- for m in messages %}\n    {{- m.role }}:{{ m.content | trim }};\n{%- endfor %}",
     "system:Be brief.;user:Hi;assistant:Hello;"},
};

constexpr Case kLoops[] = {
    {"{% for m in messages %}{{ loop.index }}/{{ loop.length }} {{ loop.index0 }} {{ loop.revindex }} {{ loop.revindex0 }} {{ loop.first }} {{ loop.last }};{% endfor %}",
     "1/3 0 3 2 True False;2/3 1 2 1 False False;3/3 2 1 0 False True;"},
    {"{% for n in nums %}{{ loop.previtem }}>{{ n }}>{{ loop.nextitem }} {{ loop.cycle('odd', 'even') }};{% endfor %}",
     ">3>1 odd;3>1>2 even;1>2> odd;"},
    {"{% for key, value in d.items() %}{{ key }}={{ value }},{% endfor %}", "b=2,a=1,"},
    {"{% for key, value in d | dictsort %}{{ key }}={{ value }},{% endfor %}", "a=1,b=2,"},
    {"{% for key in d %}{{ key }}{% endfor %}", "ba"},
    {"{% for c in 'abc' %}{{ c }}.{% endfor %}", "a.b.c."},
    {"{% for n in [] %}never{% else %}empty{% endfor %}", "empty"},
    {"{% for n in nums if n > 1 %}{{ n }}:{{ loop.index }}/{{ loop.length }} {% endfor %}", "3:1/2 2:2/2 "},
    {"{% for n in nums %}{% if n == 1 %}{% continue %}{% endif %}{% if n == 2 %}{% break %}{% endif %}{{ n }}{% endfor %}",
     "3"},
    {"{% for row in [[1, 2], [3, 4]] %}{% for n in row %}{{ loop.index }}{{ n }} {% endfor %}| {% endfor %}",
     "11 22 | 13 24 | "},
    {"{% for a, b in [(1, 'x'), (2, 'y')] %}{{ a }}{{ b }}{% endfor %}", "1x2y"},
    {"{% for n in range(3) %}{{ n }}{% endfor %}{% for n in range(10, 0, -4) %},{{ n }}{% endfor %}", "012,10,6,2"},
    {"{% for n in undefined_list %}never{% endfor %}done", "done"},
};

constexpr Case kScoping[] = {
    {"{% set x = 1 %}{% for i in [1, 2] %}{% set x = x + 10 %}{{ x }} {% endfor %}{{ x }}", "11 11 1"},
    {"{% set ns = namespace(total=0, seen=[]) %}{% for n in nums %}{% set ns.total = ns.total + n %}{% set ns.seen = ns.seen + [n] %}{% endfor %}{{ ns.total }} {{ ns.seen }}",
     "6 [3, 1, 2]"},
    {"{% if true %}{% set inside_if = 'visible' %}{% endif %}{{ inside_if }}", "visible"},
    {"{% set a, b = 'A', 'B' %}{{ b }}{{ a }}", "BA"},
    {"{% set block | upper %}  shout {{ 'it' }}{% endset %}[{{ block }}]", "[  SHOUT IT]"},
    {"{% with greeting = 'hi', name = 'you' %}{{ greeting }} {{ name }}{% endwith %}[{{ greeting }}]", "hi you[]"},
    {"{% set messages = messages[1:] %}{{ messages | length }}", "2"},
};

constexpr Case kMacros[] = {
    {"{% macro tag(name, body='', close=true) %}<{{ name }}>{{ body }}{% if close %}</{{ name }}>{% endif %}{% endmacro %}{{ tag('b', 'bold') }}{{ tag('br', close=false) }}{{ tag(body='x', name='i') }}",
     "<b>bold</b><br><i>x</i>"},
    {"{% macro wrap() %}[{{ caller() }}]{% endmacro %}{% call wrap() %}inside {{ 1 + 1 }}{% endcall %}", "[inside 2]"},
    {"{% macro each(items) %}{% for i in items %}{{ caller(i) }}{% endfor %}{% endmacro %}{% call(item) each([1, 2]) %}<{{ item }}>{% endcall %}",
     "<1><2>"},
    {"{% macro count(n) %}{% if n > 0 %}{{ n }}{{ count(n - 1) }}{% endif %}{% endmacro %}{{ count(3) }}", "321"},
    {"{% filter upper %}quiet {{ 'words' }}{% endfilter %}", "QUIET WORDS"},
};

constexpr Case kValues[] = {
    {"{{ [1, 'two', none, true, false, 1.5, [], {}] }}", "[1, 'two', None, True, False, 1.5, [], {}]"},
    {"{{ {'a': 'it\\'s', 'b': \"say \\\"hi\\\"\", 'c': 'both \\' and \"'} }}",
     "{'a': \"it's\", 'b': 'say \"hi\"', 'c': 'both \\' and \"'}"},
    {"{{ (1,) }} {{ (1, 2) }} {{ () }}", "(1,) (1, 2) ()"},
    {"{{ 1.0 }} {{ 2.5e-7 }} {{ 1e16 }} {{ 123.456 }} {{ 0.1 + 0.2 }} {{ 7 / 2 }} {{ 10 / 5 }}",
     "1.0 2.5e-07 1e+16 123.456 0.30000000000000004 3.5 2.0"},
    {"{{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 2 ** 10 }} {{ 2 ** -1 }} {{ 7.5 // 2 }}",
     "3 -4 1 2 1024 0.5 3.0"},
    {"{{ 'a' ~ 1 ~ none ~ true ~ undefined_value }}|{{ 'ab' * 2 }}|{{ [0] * 3 }}|{{ [1] + [2] }}",
     "a1NoneTrue|abab|[0, 0, 0]|[1, 2]"},
    {"{{ none_value }} {{ none_value is none }} {{ undefined_value }}", "None True "},
    {"{{ 1 == 1.0 }} {{ true == 1 }} {{ 'a' < 'b' }} {{ [1, 2] < [1, 3] }} {{ 1 < 2 < 3 }} {{ 3 > 2 > 2 }}",
     "True True True True True False"},
    {"{{ 'b' in 'abc' }} {{ 2 in nums }} {{ 'a' in d }} {{ 'z' not in d }} {{ 'x' in undefined_value }}",
     "True True True True False"},
    {"{{ 0 or 'fallback' }} {{ 'first' or 'second' }} {{ 1 and 'both' }} {{ '' and 'never' }} {{ not none_value }}",
     "fallback first both  True"},
    {"{{ 'yes' if nums else 'no' }} {{ 'shown' if false }}.", "yes ."},
    {"{{ -nums[0] }} {{ +1 }} {{ - 2 ** 2 }} {{ 2 ** 3 ** 2 }}", "-3 1 4 64"},
};

constexpr Case kAccess[] = {
    {"{{ messages[0].role }} {{ messages[-1]['content'] }} {{ messages.1.content }} {{ d['a'] }} {{ d.b }}",
     "system Hello Hi 1 2"},
    {"{{ nums[1:] }} {{ nums[:-1] }} {{ nums[::-1] }} {{ nums[::2] }} {{ nums[10:] }} {{ text[1:4] }} {{ text[::-1] }} {{ text[-1] }}",
     "[1, 2] [3, 1] [2, 1, 3] [3, 2] [] éll dlröw olléh d"},
    {"{{ d.get('a') }} {{ d.get('z') }} {{ d.get('z', 0) }} {{ d.keys() | list }} {{ d.values() | list }} {{ d.items() | list }}",
     "1 None 0 ['b', 'a'] [2, 1] [('b', 2), ('a', 1)]"},
    {"[{{ d.missing }}] [{{ messages[9] }}] [{{ text.missing }}]", "[] [] []"},
    {"{{ nums.index(1) }} {{ nums.count(3) }}", "1 1"},
};

constexpr Case kStringMethods[] = {
    {"{{ '  x y  '.strip() }}|{{ '  x  '.lstrip() }}|{{ '  x  '.rstrip() }}|{{ 'xxhixx'.strip('x') }}",
     "x y|x  |  x|hi"},
    {"{{ 'a b  c'.split() }} {{ 'a,b,,c'.split(',') }} {{ 'a,b,c'.split(',', 1) }} {{ 'a,b,c'.rsplit(',', 1) }} {{ 'l1\\nl2\\r\\nl3'.splitlines() }}",
     "['a', 'b', 'c'] ['a', 'b', '', 'c'] ['a', 'b,c'] ['a,b', 'c'] ['l1', 'l2', 'l3']"},
    {"{{ 'hello'.startswith('he') }} {{ 'hello'.endswith(('x', 'lo')) }} {{ 'hello'.upper() }} {{ 'HeLLo'.lower() }} {{ 'hello world'.title() }} {{ 'hELLO'.capitalize() }}",
     "True True HELLO hello Hello World Hello"},
    {"{{ 'a-b-c'.replace('-', '+') }} {{ 'a-b-c'.replace('-', '', 1) }} {{ 'hello'.find('l') }} {{ 'hello'.rfind('l') }} {{ 'hello'.count('l') }} {{ ', '.join(['a', 'b']) }}",
     "a+b+c ab-c 2 3 2 a, b"},
    {"{{ '{} + {} = {total}'.format(1, 2, total=3) }} {{ '%s is %d' % ('x', 5) }} {{ '123'.isdigit() }} {{ ' '.isspace() }}",
     "1 + 2 = 3 x is 5 True True"},
    {"{{ text.upper() }} {{ 'ÉCOLE Ωμέγα ПРИВЕТ'.lower() }} {{ text | length }}", "HÉLLO WÖRLD école ωμέγα привет 11"},
};

constexpr Case kFilters[] = {
    {"{{ '  padded  ' | trim }}|{{ 'xxhixx' | trim('x') }}|{{ 'Mixed' | upper }}|{{ 'Mixed' | lower }}|{{ 'one two-three' | title }}|{{ 'word' | capitalize }}",
     "padded|hi|MIXED|mixed|One Two-Three|Word"},
    {"{{ nums | length }} {{ d | count }} {{ text | length }} {{ nums | first }} {{ nums | last }} {{ nums | min }} {{ nums | max }} {{ nums | sum }}",
     "3 2 11 3 2 1 3 6"},
    {"{{ nums | sort }} {{ nums | sort(reverse=true) }} {{ words | sort }} {{ words | sort(case_sensitive=true) }} {{ messages | sort(attribute='role') | map(attribute='role') | list }}",
     "[1, 2, 3] [3, 2, 1] ['A', 'b', 'c'] ['A', 'b', 'c'] ['assistant', 'system', 'user']"},
    {"{{ nums | join(', ') }} {{ messages | map(attribute='role') | join('/') }} {{ nums | map('string') | join }} {{ [1, 1, 'a', 'A'] | unique | list }}",
     "3, 1, 2 system/user/assistant 312 [1, 'a']"},
    {"{{ messages | selectattr('role', 'equalto', 'user') | list | length }} {{ messages | rejectattr('role', 'in', ['system']) | map(attribute='role') | list }} {{ nums | select('odd') | list }} {{ nums | reject('gt', 1) | list }} {{ [0, 1, '', 'a'] | select | list }}",
     "1 ['user', 'assistant'] [3, 1] [1] [1, 'a']"},
    {"{{ undefined_value | default('dflt') }} {{ '' | default('dflt') }} {{ '' | default('dflt', true) }} {{ none_value | d('x') }}",
     "dflt  dflt None"},
    {"{{ d | tojson }} {{ messages[1] | tojson(indent=2) }} {{ text | tojson }} {{ text | tojson(ensure_ascii=true) }} {{ [1.0, none, true] | tojson }} {{ d | tojson(sort_keys=true, separators=(',', ':')) }}",
     "{\"b\": 2, \"a\": 1} {\n  \"role\": \"user\",\n  \"content\": \"Hi\"\n} \"héllo wörld\" \"h\\u00e9llo w\\u00f6rld\" [1.0, null, true] {\"a\":1,\"b\":2}"},
    {"{{ '42' | int }} {{ '4.7' | int }} {{ 'x' | int }} {{ 'x' | int(-1) }} {{ 3.9 | int }} {{ '2.5' | float }} {{ 'x' | float }} {{ 5 | float }}",
     "42 4 0 -1 3 2.5 0.0 5.0"},
    {"{{ 2.5 | round }} {{ 3.5 | round }} {{ 2.675 | round(2) }} {{ 2.1 | round(method='ceil') }} {{ 2.9 | round(method='floor') }} {{ -4 | abs }} {{ 7 | round }}",
     "2.0 4.0 2.67 3.0 2.0 4 7"},
    {"{{ 'line1\\nline2\\n\\nline4' | indent(2) }}|{{ 'a\\nb' | indent(2, first=true) }}|{{ 'a\\n\\nb' | indent('> ', blank=true) }}",
     "line1\n  line2\n\n  line4|  a\n  b|a\n> \n> b"},
    {"{{ 'aaa' | replace('a', 'b') }} {{ 'aaa' | replace('a', 'b', 2) }} {{ 'abc' | reverse }} {{ nums | reverse | list }} {{ 'ab' | list }} {{ 42 | string }} {{ [1] | string }}",
     "bbb bba cba [2, 1, 3] ['a', 'b'] 42 [1]"},
    {"{{ d | items | list }} {{ d | dictsort(reverse=true) }} {{ {'b': 1, 'a': 2} | dictsort(by='value') }} {{ '<a href=\"x\">&\\'' | e }} {{ '<b>' | safe }}",
     "[('b', 2), ('a', 1)] [('b', 2), ('a', 1)] [('b', 1), ('a', 2)] &lt;a href=&#34;x&#34;&gt;&amp;&#39; <b>"},
    {"{{ messages | map(attribute='name', default='anon') | list }} {{ [[1, 2], [3]] | map('length') | list }} {{ messages | map(attribute='role') | map('upper') | join(',') }}",
     "['anon', 'anon', 'anon'] [2, 1] SYSTEM,USER,ASSISTANT"},
};

constexpr Case kTests[] = {
    {"{{ undefined_value is defined }} {{ undefined_value is undefined }} {{ none_value is none }} {{ d is mapping }} {{ nums is sequence }} {{ text is iterable }} {{ 5 is iterable }}",
     "False True True True True True False"},
    {"{{ 'x' is string }} {{ 5 is number }} {{ 5 is integer }} {{ 5.0 is float }} {{ true is boolean }} {{ true is number }} {{ true is true }} {{ 0 is false }}",
     "True True True True True True True False"},
    {"{{ 3 is odd }} {{ 4 is even }} {{ 9 is divisibleby 3 }} {{ 'a' is equalto 'a' }} {{ 2 is eq 2 }} {{ 2 is ne 3 }} {{ 1 is lt 2 }} {{ 2 is ge 2 }} {{ 'b' is in 'abc' }}",
     "True True True True True True True True True"},
    {"{{ 'low' is lower }} {{ 'UP' is upper }} {{ none_value is sameas none }} {{ range is callable }} {{ 'upper' is filter }} {{ 'odd' is test }} {{ d is not none }}",
     "True True True True True True True"},
};

TEST(Jinja, WhitespaceControlAsTransformersConfiguresIt) { expect_renders(kWhitespace); }
TEST(Jinja, Loops) { expect_renders(kLoops); }
TEST(Jinja, ScopesAndNamespaces) { expect_renders(kScoping); }
TEST(Jinja, MacrosCallBlocksAndFilterBlocks) { expect_renders(kMacros); }
TEST(Jinja, PythonValuesAndOperators) { expect_renders(kValues); }
TEST(Jinja, AttributesItemsAndSlices) { expect_renders(kAccess); }
TEST(Jinja, StringMethods) { expect_renders(kStringMethods); }
TEST(Jinja, Filters) { expect_renders(kFilters); }
TEST(Jinja, Tests) { expect_renders(kTests); }

TEST(Jinja, GenerationBlockRendersItsBody) {
  // transformers' {% generation %} marks assistant text for training masks.
  EXPECT_EQ(render("a{% generation %}{{ 'b' }}{% set hidden = 1 %}{% endgeneration %}c{{ hidden }}"), "abc");
}

TEST(Jinja, OnlyOneTrailingNewlineIsDropped) {
  EXPECT_EQ(render("x\n"), "x");
  EXPECT_EQ(render("x\n\n"), "x\n");
  EXPECT_EQ(render("{{ 'a' }}\r\n"), "a");
}

TEST(Jinja, StringLiteralsDecodePythonEscapes) {
  EXPECT_EQ(render(R"({{ 'tab\there\nnew \x41\u00e9\U0001F600 \101 \q \\' }})"), "tab\there\nnew Aé😀 A \\q \\");
  EXPECT_EQ(render(R"({{ "it's" 'joined' }})"), "it'sjoined");
}

TEST(Jinja, ContextVariablesAreShadowedByTheTemplatesOwn) {
  Object vars;
  vars.set("x", Value("from context"));
  EXPECT_EQ(render("{{ x }}|{% set x = 'set' %}{{ x }}", vars), "from context|set");
  EXPECT_EQ(render("{{ range(2) | list }}", vars), "[0, 1]");  // globals stay reachable
}

TEST(Jinja, RenderErrorsNameTheTemplateAndLine) {
  const TemplateError chained = error_of("line one\n{{ 'ok' }}\n{{ d.missing.deeper }}");
  EXPECT_EQ(chained.line(), 3);
  EXPECT_EQ(chained.template_name(), "test");
  EXPECT_EQ(chained.reason(), "'dict object' has no attribute 'missing'");
  EXPECT_STREQ(chained.what(), "template 'test', line 3: 'dict object' has no attribute 'missing'");

  EXPECT_EQ(error_of("{{ nowhere.x }}").reason(), "'nowhere' is undefined");
  EXPECT_EQ(error_of("{{ messages[9].role }}").reason(), "list object has no element 9");
  EXPECT_EQ(error_of("{{ 'a' + 1 }}").reason(), "can only concatenate str (not \"int\") to str");
  EXPECT_EQ(error_of("{{ nowhere + 1 }}").reason(), "'nowhere' is undefined");
  EXPECT_EQ(error_of("{{ 1 // 0 }}").reason(), "integer division or modulo by zero");
  EXPECT_EQ(error_of("{{ nums.append(4) }}").reason(), "access to attribute 'append' of 'list' object is unsafe.");
  EXPECT_EQ(error_of("{{ 'x'.no_such_method() }}").reason(), "'str object' has no attribute 'no_such_method'");
  EXPECT_EQ(error_of("{{ text() }}").reason(), "'str' object is not callable");
  EXPECT_EQ(error_of("{% for a, b in nums %}{% endfor %}").reason(), "'int' object is not iterable");
  EXPECT_EQ(error_of("{% set d.x = 1 %}").reason(),
            "cannot assign attribute 'x' on dict: only a namespace() can be changed");
  EXPECT_EQ(error_of("{{ d | tojson }}{{ undefined_value | tojson }}").reason(),
            "Object of type Undefined is not JSON serializable (in filter 'tojson')");
  EXPECT_EQ(error_of("{% macro m(a) %}{% endmacro %}{{ m(1, 2) }}").reason(),
            "macro 'm' takes not more than 1 argument(s)");
}

TEST(Jinja, RaiseExceptionIsARenderErrorWithItsMessage) {
  Object vars;
  vars.set("raise_exception", Value::function("raise_exception", [](const Args& args) -> Value {
             throw EvalError(args.positional.at(0).str());
           }));
  try {
    render("{% if true %}\n  {{ raise_exception('Roles must alternate') }}\n{% endif %}", vars);
    FAIL() << "no error";
  } catch (const TemplateError& e) {
    EXPECT_EQ(e.reason(), "Roles must alternate");
    EXPECT_EQ(e.line(), 2);
  }
}

TEST(Jinja, SyntaxErrorsAndUnsupportedConstructsFailToParse) {
  const auto parse_error = [](std::string_view source) {
    try {
      Template(source, "bad");
    } catch (const TemplateError& e) {
      return std::string(e.what());
    }
    return std::string("parsed");
  };
  EXPECT_EQ(parse_error("ok\n{% if %}"), "template 'bad', line 2: expected an expression, got end of statement block");
  EXPECT_EQ(parse_error("{% for x in y %}\nbody"),
            "template 'bad', line 2: unexpected end of template, expected 'endfor'");
  EXPECT_EQ(parse_error("{{ x | no_such_filter }}"), "template 'bad', line 1: no filter named 'no_such_filter'");
  EXPECT_EQ(parse_error("{{ x is no_such_test }}"), "template 'bad', line 1: no test named 'no_such_test'");
  EXPECT_EQ(parse_error("\n\n{% include 'other.jinja' %}"),
            "template 'bad', line 3: the 'include' tag is not supported");
  EXPECT_EQ(parse_error("{% endif %}"), "template 'bad', line 1: unknown tag 'endif'");
  EXPECT_EQ(parse_error("{% break %}"), "template 'bad', line 1: 'break' outside of a loop");
  EXPECT_EQ(parse_error("{{ 'open }}"), "template 'bad', line 1: unterminated string literal");
  EXPECT_EQ(parse_error("{{ (1 }}"), "template 'bad', line 1: unexpected '}', expected ')'");
  EXPECT_EQ(parse_error("{{ 1 "), "template 'bad', line 1: unexpected end of template, expected '}}'");
  EXPECT_EQ(parse_error("{# never closed"), "template 'bad', line 1: missing end of comment tag");
  EXPECT_EQ(parse_error("{% for x in y recursive %}{% endfor %}"),
            "template 'bad', line 1: recursive loops are not supported");
  EXPECT_EQ(parse_error("\xff"), "template 'bad', line 1: the template is not valid UTF-8");
}

TEST(Jinja, LimitsTurnRunawayTemplatesIntoErrors) {
  EXPECT_NE(
      error_of("{% for i in range(20) %}{{ 'x' * 1000000 }}{% endfor %}").reason().find("limit of 16777216 bytes"),
      std::string::npos);
  EXPECT_NE(error_of("{{ 'x' * 100000000 }}").reason().find("limit of 16777216 bytes"), std::string::npos);
  EXPECT_NE(error_of("{% set ns = namespace(s='x') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}")
                .reason()
                .find("limit"),
            std::string::npos);
  EXPECT_EQ(error_of("{{ range(100000000) | length }}").reason(),
            "a list of 1048577 items would pass the limit of 1048576");
  EXPECT_EQ(error_of("{% for i in range(2000) %}{% for j in range(2000) %}{% endfor %}{% endfor %}").reason(),
            "the template ran more than 1048576 steps (statements, expressions, loop iterations and macro calls)");
  EXPECT_NE(error_of("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}").reason().find("evaluation nests deeper"),
            std::string::npos);
  std::string long_sum = "{{ 1";
  for (int i = 0; i < 5000; ++i) long_sum += " + 1";
  EXPECT_NE(error_of(long_sum + " }}").reason().find("evaluation nests deeper"), std::string::npos);
  const std::string deep = "{{ " + std::string(5000, '(') + "1" + std::string(5000, ')') + " }}";
  EXPECT_EQ(error_of(deep).reason(), "the template nests too deeply");
}

// Each line short, none past the bounds on one value, and without a budget for the whole render each would run for
// hours or hold gigabytes.
TEST(Jinja, BudgetBoundsWhatOneRenderSpends) {
  EXPECT_EQ(error_of("{% macro f(n) %}{% if n < 40 %}{{ f(n + 1) }}{{ f(n + 1) }}{% endif %}{% endmacro %}{{ f(0) }}")
                .reason(),
            "the template ran more than 1048576 steps (statements, expressions, loop iterations and macro calls)");
  EXPECT_EQ(error_of("{% set ns = namespace(l=[]) %}{% for i in range(1000) %}"
                     "{% set ns.l = ns.l + ['x' * 16000000] %}{% endfor %}")
                .reason(),
            "the template built more than 268435456 bytes of values");
  EXPECT_EQ(
      error_of("{% set s = 'x' * 16000000 %}{% for i in range(1000000) %}{% set t = s ~ '' %}{% endfor %}").reason(),
      "the template built more than 268435456 bytes of values");

  const Template counted("{% for i in range(n) %}{{ i }}{% endfor %}", "counted");
  Object vars;
  vars.set("n", 10);
  // The for, its range(n) (3 expressions), 10 iterations, and each iteration's print of i (2).
  EXPECT_EQ(counted.render(vars, {.steps = 34}), "0123456789");
  try {
    counted.render(vars, {.steps = 33});
    ADD_FAILURE() << "rendered past its budget";
  } catch (const TemplateError& e) {
    EXPECT_EQ(e.reason(),
              "the template ran more than 33 steps (statements, expressions, loop iterations and macro calls)");
  }
  vars.set("n", 100);
  try {
    counted.render(vars, {.bytes = 1000});  // range(100)'s list alone
    ADD_FAILURE() << "rendered past its budget";
  } catch (const TemplateError& e) {
    EXPECT_EQ(e.reason(), "the template built more than 1000 bytes of values");
  }
  // The budget is the render's: values made before it, as a request's messages are, cost it nothing.
  vars.set("s", Value(std::string(2000, 'x')));
  EXPECT_EQ(Template("{{ s | length }}", "outside").render(vars, {.bytes = 1000}), "2000");
}

// A namespace that holds itself is freed with the render, and what it holds with it (found by the chat template fuzz
// target as a leak).
TEST(Jinja, NamespacesThatHoldThemselvesAreFreed) {
  auto held = std::make_shared<int>(0);
  const std::weak_ptr<int> watch = held;
  {
    Object vars;
    vars.set("f", Value::function("f", [held = std::move(held)](const Args&) { return Value(); }));
    const Template cycle("{% set ns = namespace(f=f) %}{% set ns.self = ns %}{{ ns.self.self.f is defined }}", "cycle");
    EXPECT_EQ(cycle.render(vars), "True");
  }
  EXPECT_TRUE(watch.expired());
}

// Printing one (found by the chat_template fuzzer) recursed until the stack overflowed; it is an error instead.
TEST(Jinja, NamespacesThatHoldThemselvesPrintAsAnError) {
  const Template print("{% set ns = namespace(n=1) %}{% set ns.self = ns %}{{ ns }}", "print");
  EXPECT_THROW(print.render(Object{}), TemplateError);
  try {
    print.render(Object{});
  } catch (const TemplateError& e) {
    EXPECT_NE(std::string_view(e.what()).find("nested deeper than 400 levels"), std::string_view::npos) << e.what();
  }
  const Template unique("{% set ns = namespace(n=1) %}{% set ns.self = ns %}{{ [ns] | unique | list }}", "unique");
  EXPECT_THROW(unique.render(Object{}), TemplateError);  // unique keys values by their repr
  const Template once("{% set ns = namespace(n=1) %}{{ ns }}", "once");
  EXPECT_EQ(once.render(Object{}), "<Namespace {'n': 1}>");
}

TEST(Jinja, OneTemplateRendersConcurrently) {
  const Template shared("{% for m in messages %}{{ m.role }}:{{ m.content | trim }}\n{% endfor %}", "shared");
  const std::string expected = shared.render(variables());
  std::vector<std::thread> threads;
  std::vector<std::string> outputs(4);
  for (size_t i = 0; i < outputs.size(); ++i) {
    threads.emplace_back([&, i] {
      for (int round = 0; round < 200; ++round) outputs[i] = shared.render(variables());
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (const std::string& output : outputs) EXPECT_EQ(output, expected);
}

TEST(Jinja, JsonKeepsKeyOrderAndPythonsDuplicateKeyRule) {
  const Value value = value_from_json(R"({"b": 1, "a": 2, "b": 3})");
  EXPECT_EQ(value.repr(), "{'b': 3, 'a': 2}");
  EXPECT_EQ(to_json(value), R"({"b": 3, "a": 2})");
  EXPECT_THROW(value_from_json("[1,"), std::invalid_argument);
}

}  // namespace
}  // namespace rs::jinja
