"""A realistic corpus of agent conversations, the same for a given seed.

Each conversation: a system prompt, user turns, assistant turns that call
tools, and tool results of the kinds agents store most: retrieved web pages
(prose with markup), code files, JSON search results, shell output. Words
come from small vocabularies, as real text repeats its words; numbers,
ids and URLs vary, as they do.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator

_VOCABULARY = """
the of and to in is for that on with as it by this are from be or at an was which data model agent user
request response service system function value result error file table query index cache state session
memory context window token prompt tool call search page document source code test build deploy server
client network latency storage database write read update delete schema field type string number list
object config setting option default version release change issue fix feature support performance time
weather city temperature forecast market price report summary analysis research paper method experiment
"""
WORDS = tuple(_VOCABULARY.split())
TOOLS = ("web_search", "fetch_page", "read_file", "run_shell", "query_database", "get_weather")
LANGS = ("python", "typescript", "go")
SYSTEM = (
    "You are a helpful assistant with access to tools. Think step by step, call tools when you need facts, "
    "cite your sources, and answer concisely. Never invent file contents or search results."
)


def _sentence(rng: random.Random, low: int = 6, high: int = 18) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(low, high))]
    return " ".join(words).capitalize() + "."


def _paragraph(rng: random.Random, sentences: int) -> str:
    return " ".join(_sentence(rng) for _ in range(sentences))


def _web_page(rng: random.Random) -> str:
    title = _sentence(rng, 3, 7)
    parts = [f"<html><head><title>{title}</title></head><body><h1>{title}</h1>"]
    for _ in range(rng.randint(3, 9)):
        parts.append(f"<p>{_paragraph(rng, rng.randint(2, 6))}</p>")
        if rng.random() < 0.3:
            parts.append(f'<a href="https://example.org/{rng.choice(WORDS)}/{rng.randint(1, 99999)}">more</a>')
    parts.append("</body></html>")
    return "".join(parts)


def _code(rng: random.Random) -> str:
    lang = rng.choice(LANGS)
    lines = []
    for _ in range(rng.randint(3, 8)):
        name = f"{rng.choice(WORDS)}_{rng.choice(WORDS)}"
        if lang == "python":
            lines.append(f'def {name}(value, options=None):\n    """{_sentence(rng)}"""')
            lines.append(f"    result = {rng.choice(WORDS)}.get(value, {rng.randint(0, 100)})\n    return result\n")
        elif lang == "typescript":
            lines.append(f"export function {name}(value: string): number {{\n  // {_sentence(rng)}")
            lines.append(f"  return value.length + {rng.randint(0, 100)};\n}}\n")
        else:
            lines.append(f"func {name}(value string) (int, error) {{\n\t// {_sentence(rng)}")
            lines.append(f"\treturn len(value) + {rng.randint(0, 100)}, nil\n}}\n")
    return "\n".join(lines)


def _search_results(rng: random.Random) -> str:
    results = [
        {
            "title": _sentence(rng, 3, 8),
            "url": f"https://{rng.choice(WORDS)}.example.com/{rng.choice(WORDS)}/{rng.randint(1, 10**6)}",
            "snippet": _paragraph(rng, 2),
            "score": round(rng.random(), 4),
        }
        for _ in range(rng.randint(3, 8))
    ]
    return json.dumps({"query": _sentence(rng, 2, 5), "results": results})


def _shell(rng: random.Random) -> str:
    return "\n".join(
        f"{rng.choice(('INFO', 'DEBUG', 'WARN'))} {rng.randint(10, 23)}:{rng.randint(10, 59)}:{rng.randint(10, 59)} "
        f"{_sentence(rng, 4, 10)} id={rng.randint(1000, 99999)}"
        for _ in range(rng.randint(4, 20))
    )


TOOL_OUTPUT = {
    "web_search": _search_results,
    "fetch_page": _web_page,
    "read_file": _code,
    "run_shell": _shell,
    "query_database": _search_results,
    "get_weather": lambda rng: json.dumps(
        {"city": rng.choice(WORDS), "temp_c": rng.randint(-10, 40), "wind": rng.randint(0, 20), "sky": "clear"}
    ),
}


def conversation(rng: random.Random, turns: int) -> Iterator[dict]:
    """One conversation's messages, as POST /storage/history bodies take them (without session_id)."""
    yield {"role": "system", "content": SYSTEM}
    for turn in range(turns):
        yield {"role": "user", "content": _paragraph(rng, rng.randint(1, 3))}
        for call in range(rng.randint(0, 2)):
            tool = rng.choice(TOOLS)
            call_id = f"call_{rng.getrandbits(48):012x}"
            arguments = json.dumps({"query": _sentence(rng, 2, 6), "limit": rng.randint(1, 10)})
            yield {
                "role": "assistant",
                "content": None,
                "tool_calls": [{"id": call_id, "type": "function", "function": {"name": tool, "arguments": arguments}}],
            }
            yield {
                "role": "tool",
                "tool_call_id": call_id,
                "name": tool,
                "content": TOOL_OUTPUT[tool](rng),
                "metadata": {"duration_ms": rng.randint(5, 3000), "turn": turn, "call": call},
            }
        yield {
            "role": "assistant",
            "content": _paragraph(rng, rng.randint(1, 5)),
            "metadata": {"model": "large-2", "tokens": rng.randint(20, 900)},
        }


def corpus(seed: int, conversations: int, turns: int = 6) -> list[list[dict]]:
    rng = random.Random(seed)
    return [list(conversation(rng, turns)) for _ in range(conversations)]
