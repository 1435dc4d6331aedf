#!/usr/bin/env python3
"""Renders every chat template under ../shared/templates the way transformers'
apply_chat_template does, for a fixed set of conversations, and writes the
results to tests/data/templates/goldens.json for golden_test.cc.

Regenerate (needs Python 3 with jinja2 >= 3.1; checked with 3.1.6):
    python3 tests/template/make_goldens.py

The environment copies transformers' _compile_jinja_template:
ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True) with the
loopcontrols extension, a tojson filter that is json.dumps(ensure_ascii=False),
and the globals raise_exception and strftime_now. Templates get messages,
tools (None without tools), documents (None), add_generation_prompt, the
tokenizer's bos_token/eos_token (left undefined when the tokenizer has none),
and a fixed date_string so that Llama 3.1/3.2 do not print today's date.
"""
import json
import pathlib
from datetime import datetime

import jinja2
import jinja2.ext
from jinja2.sandbox import ImmutableSandboxedEnvironment

REPO = pathlib.Path(__file__).resolve().parents[2]
TEMPLATES = REPO.parent / "shared" / "templates"
OUTPUT = REPO / "tests" / "data" / "templates" / "goldens.json"
VARIABLES = {"date_string": "01 Jan 2025"}

TOOLS = [{
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather in a city",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "City name, e.g. Zürich"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            },
            "required": ["city"],
        },
    },
}]

CONVERSATIONS = {
    "system_user": {"messages": [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": "Hello! How are you?"},
    ]},
    "user": {"messages": [{"role": "user", "content": "What is the capital of France?"}]},
    "multi_turn": {"messages": [
        {"role": "user", "content": "Hi there."},
        {"role": "assistant", "content": "Hello! How can I help?"},
        {"role": "user", "content": "Tell me a joke."},
    ]},
    "system_multi_turn": {"messages": [
        {"role": "system", "content": "Answer briefly."},
        {"role": "user", "content": "2 + 2?"},
        {"role": "assistant", "content": "4"},
        {"role": "user", "content": "And 3 + 3?"},
    ]},
    "unicode": {"messages": [
        {"role": "system", "content": "  Réponds en français. 🤖  \n"},
        {"role": "user", "content": "Grüße, 世界! 😀\nSecond line\t\"double\" 'single' \\backslash\u00a0nbsp\u2028sep  "},
    ]},
    "assistant_last": {"messages": [
        {"role": "user", "content": "Write a haiku."},
        {"role": "assistant", "content": "Autumn moonlight—\na worm digs silently\ninto the chestnut."},
    ]},
    "jinja_like_text": {"messages": [
        {"role": "user", "content": "Print {{ messages }} and {% if x %}this{% endif %} {# not a comment #} {{- raw -}}"},
    ]},
    "roles_not_alternating": {"messages": [
        {"role": "user", "content": "First."},
        {"role": "user", "content": "Second."},
    ]},
    "system_only": {"messages": [{"role": "system", "content": "Only a system message."}]},
    "empty": {"messages": []},
    "content_parts": {"messages": [
        {"role": "user", "content": [{"type": "text", "text": "Describe this."}]},
    ]},
    "tools": {"tools": TOOLS, "messages": [
        {"role": "system", "content": "You can call tools."},
        {"role": "user", "content": "What's the weather in Paris?"},
    ]},
    "tool_calls": {"tools": TOOLS, "messages": [
        {"role": "user", "content": "What's the weather in Paris?"},
        {"role": "assistant", "content": None, "tool_calls": [{
            "id": "call12345", "type": "function",
            "function": {"name": "get_weather", "arguments": {"city": "Paris", "unit": "celsius"}},
        }]},
        {"role": "tool", "tool_call_id": "call12345", "content": "{\"temperature\": 21}"},
        {"role": "assistant", "content": "It is 21 °C in Paris."},
    ]},
    "two_tool_calls": {"tools": TOOLS, "messages": [
        {"role": "user", "content": "Weather in Paris and Rome?"},
        {"role": "assistant", "content": "", "tool_calls": [
            {"id": "call00001", "type": "function", "function": {"name": "get_weather", "arguments": {"city": "Paris"}}},
            {"id": "call00002", "type": "function", "function": {"name": "get_weather", "arguments": {"city": "Rome"}}},
        ]},
    ]},
}

# Conversations also rendered without the generation prompt.
WITHOUT_GENERATION_PROMPT = ["user", "system_multi_turn", "assistant_last"]


def environment():
    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    def strftime_now(format):
        return datetime.now().strftime(format)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[jinja2.ext.loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


def main():
    env = environment()
    info = json.loads((TEMPLATES / "templates.json").read_text(encoding="utf-8"))
    cases = []
    for path in sorted(TEMPLATES.glob("*.jinja")):
        source = path.read_text(encoding="utf-8")
        tokens = info[path.stem]
        assert tokens["chat_template"] == source, f"{path.name} differs from templates.json"
        template = env.from_string(source)
        for name, conversation in CONVERSATIONS.items():
            for add_generation_prompt in [True, False] if name in WITHOUT_GENERATION_PROMPT else [True]:
                case = {"template": path.name, "conversation": name, "add_generation_prompt": add_generation_prompt}
                special = {k: tokens[k] for k in ("bos_token", "eos_token") if tokens[k] is not None}
                case.update(special)
                try:
                    case["output"] = template.render(
                        messages=conversation["messages"], tools=conversation.get("tools"), documents=None,
                        add_generation_prompt=add_generation_prompt, **special, **VARIABLES)
                except jinja2.exceptions.TemplateError as e:
                    case["error"] = str(e)
                    # raise_exception raises the base TemplateError; the others are its subclasses.
                    case["raised"] = type(e) is jinja2.exceptions.TemplateError
                except Exception as e:  # TypeError and the like, from the template's own Python operations
                    case["error"] = f"{type(e).__name__}: {e}"
                    case["raised"] = False
                cases.append(case)
    goldens = {
        "generator": f"tests/template/make_goldens.py with jinja2 {jinja2.__version__}",
        "variables": VARIABLES,
        "conversations": CONVERSATIONS,
        "cases": cases,
    }
    OUTPUT.write_text(json.dumps(goldens, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    errors = sum("error" in c for c in cases)
    print(f"{OUTPUT.relative_to(REPO)}: {len(cases)} cases ({errors} expected errors)")


if __name__ == "__main__":
    main()
