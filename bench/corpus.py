"""A reproducible corpus of agent conversations, for the compression benchmarks.

Each conversation is what an agent's history holds: a system prompt, user
requests, assistant answers with tool calls, and tool results of four
kinds: web search results (JSON), retrieved web pages (text with the
boilerplate pages share), source files (code), and JSON records. Words
follow a Zipf law over a vocabulary of common English words and made-up
terms; ids, URLs, numbers and hashes are random, as in real traffic, so
the corpus is no easier to compress than it should be.

    from corpus import conversation
    messages = conversation(seed=7, length=50)   # [{role, content, ...}, ...]

The same seed gives the same messages on every machine and Python version
(random.Random with integer seeds is stable).
"""

from __future__ import annotations

import json
import random
from typing import Any

COMMON_WORDS = (
    "the of and to a in is that for it as was with be by on not he this are or his from at which but have an they "
    "you were her she there been one all we their has would when if so no what up out about who get them time can "
    "said more some do could into like then other than now its only our over also after use two how first way well "
    "new because any these give day most us data file search result page request error value model agent task step "
    "function return query user system answer check run test build service server table index cache state session "
    "history message tool call retry timeout network memory storage version update config document source report"
)
COMMON = COMMON_WORDS.split()
SYLLABLE_TEXT = (
    "ba be bi bo ca ce co con de di do en er es ex fa fe fi for ga ge in ing ion is it ka la le li lo ly ma me mi "
    "mo na ne ni no ob or pa pe per pi po pro ra re ri ro sa se si so st ta te ter ti to tion tra tri un ur va ve "
    "vi wa we wi"
)
SYLLABLES = SYLLABLE_TEXT.split()
SITE_WORDS = ("docs", "blog", "wiki", "news", "forum", "learn", "dev", "help", "guide", "api")
TLDS = ("com", "org", "io", "net", "dev")
TOOLS = ("web_search", "fetch_page", "read_file", "run_python", "query_database", "list_directory")
LANGUAGES = ("python", "typescript", "sql")


class Words:
    """Words drawn by a Zipf law: the common words first, then made-up terms."""

    def __init__(self, rng: random.Random, made_up: int = 3000) -> None:
        self.rng = rng
        # Made of syllables, as words are: letters drawn at random would be harder to compress than any language.
        terms = ["".join(rng.choices(SYLLABLES, k=rng.randint(2, 4))) for _ in range(made_up)]
        self.vocabulary = list(COMMON) + terms
        self.weights = [1 / (rank + 1) ** 1.05 for rank in range(len(self.vocabulary))]
        # Language repeats word groups ("the number of", "as well as"): sentences are half made of them.
        self.phrases = [" ".join(self.some(rng.randint(2, 5))) for _ in range(600)]
        self.phrase_weights = [1 / (rank + 1) for rank in range(len(self.phrases))]

    def some(self, count: int) -> list[str]:
        return self.rng.choices(self.vocabulary, self.weights, k=count)

    def sentence(self) -> str:
        words: list[str] = []
        for _ in range(self.rng.randint(3, 9)):
            if self.rng.random() < 0.5:
                words.append(self.rng.choices(self.phrases, self.phrase_weights)[0])
            else:
                words.extend(self.some(self.rng.randint(1, 3)))
        if self.rng.random() < 0.3:
            words.insert(self.rng.randrange(len(words)), str(self.rng.randint(2, 99999)))
        return " ".join(words).capitalize() + self.rng.choice(".....?!")

    def paragraph(self, sentences: tuple[int, int] = (2, 7)) -> str:
        return " ".join(self.sentence() for _ in range(self.rng.randint(*sentences)))


def _url(rng: random.Random, words: Words) -> str:
    host = f"{rng.choice(SITE_WORDS)}.{words.some(1)[0]}.{rng.choice(TLDS)}"
    path = "/".join(words.some(rng.randint(1, 3)))
    return f"https://{host}/{path}-{rng.randint(100, 99999)}"


def _hex(rng: random.Random, length: int) -> str:
    return "".join(rng.choices("0123456789abcdef", k=length))


def search_results(rng: random.Random, words: Words) -> str:
    results = [
        {
            "title": " ".join(words.some(rng.randint(3, 9))).title(),
            "url": _url(rng, words),
            "snippet": words.paragraph((1, 2)),
            "published": f"20{rng.randint(15, 26)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
            "score": round(rng.random(), 4),
        }
        for _ in range(rng.randint(5, 10))
    ]
    return json.dumps({"query": " ".join(words.some(4)), "results": results}, indent=2)


def web_page(rng: random.Random, words: Words, site: dict[str, str]) -> str:
    """A page as a fetch tool returns it: the site's navigation and footer around the article."""
    body = "\n\n".join(words.paragraph() for _ in range(rng.randint(3, 12)))
    title = " ".join(words.some(rng.randint(4, 10))).title()
    byline = f"By {site['author']} · {rng.randint(2, 20)} min read"
    return f"{site['nav']}\n\n# {title}\n\n{byline}\n\n{body}\n\n{site['footer']}"


def _site(rng: random.Random, words: Words) -> dict[str, str]:
    links = " | ".join(w.title() for w in words.some(rng.randint(6, 12)))
    footer = "\n".join(
        [
            f"© 20{rng.randint(10, 26)} {' '.join(words.some(2)).title()} Inc. All rights reserved.",
            "Privacy Policy | Terms of Service | Cookie Settings | Contact Us | Careers",
            words.paragraph((1, 3)),
        ]
    )
    nav = f"Skip to content\n{links}\nSearch  Sign in  Subscribe"
    return {"nav": nav, "footer": footer, "author": words.some(1)[0]}


PYTHON = """\
def {name}({args}):
    \"\"\"{doc}\"\"\"
    result = []
    for {item} in {source}:
        if {item}.{attr} is None:
            continue
        result.append({{"{key}": {item}.{attr}, "count": len({source})}})
    return result
"""
TYPESCRIPT = """\
export async function {name}({args}: string[]): Promise<number> {{
  // {doc}
  const {item} = await fetch(`/api/{key}/${{{source}}}`);
  if (!{item}.ok) {{
    throw new Error(`{attr} failed: ${{{item}.status}}`);
  }}
  return ({item}.json() as any).{attr}.length;
}}
"""
SQL = """\
-- {doc}
SELECT {attr}, count(*) AS {key}_count
FROM {source}
WHERE {item} IS NOT NULL AND created_at > now() - interval '{number} days'
GROUP BY {attr}
ORDER BY {key}_count DESC
LIMIT {number};
"""
TEMPLATES = {"python": PYTHON, "typescript": TYPESCRIPT, "sql": SQL}


def source_file(rng: random.Random, words: Words) -> str:
    parts = []
    language = rng.choice(LANGUAGES)
    for _ in range(rng.randint(2, 6)):
        w = words.some(8)
        parts.append(
            TEMPLATES[language].format(
                name="_".join(w[:2]),
                args=", ".join(w[2:4]),
                doc=words.sentence(),
                item=w[4],
                source=w[5],
                attr=w[6],
                key=w[7],
                number=rng.randint(1, 500),
            )
        )
    return "\n\n".join(parts)


def json_records(rng: random.Random, words: Words) -> str:
    rows = [
        {
            "id": _hex(rng, 12),
            "name": " ".join(words.some(2)),
            "status": rng.choice(["active", "pending", "failed", "done"]),
            "amount": round(rng.uniform(0, 10_000), 2),
            "tags": words.some(rng.randint(0, 4)),
            "updated_at": f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:"
            f"{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}Z",
        }
        for _ in range(rng.randint(5, 25))
    ]
    return json.dumps({"rows": rows, "total": rng.randint(len(rows), 5000)})


def _tool_result(rng: random.Random, words: Words, tool: str, sites: list[dict[str, str]], files: list[str]) -> str:
    if tool == "web_search":
        return search_results(rng, words)
    if tool == "fetch_page":
        return web_page(rng, words, rng.choice(sites))
    if tool in ("read_file", "run_python"):
        if files and rng.random() < 0.3:
            # Agents read a file again after changing it: the same text with a line or two new.
            lines = rng.choice(files).splitlines()
            lines[rng.randrange(len(lines))] = "    # " + words.sentence()
            return "\n".join(lines)
        files.append(source_file(rng, words))
        return files[-1]
    return json_records(rng, words)


def _quote(rng: random.Random, text: str) -> str:
    """A passage of an earlier tool result, as an assistant cites what it read."""
    start = rng.randrange(max(len(text) - 200, 1))
    return text[start : start + rng.randint(60, 400)]


def conversation(seed: int, length: int = 50) -> list[dict[str, Any]]:
    """`length` messages of one agent conversation, as POST /storage/history/batch takes them."""
    rng = random.Random(seed)
    words = Words(random.Random(0))  # one vocabulary for every conversation
    words.rng = rng
    sites = [_site(rng, words) for _ in range(4)]
    files: list[str] = []
    last_result = ""
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": "You are a research agent. " + words.paragraph((3, 6))}
    ]
    while len(messages) < length:
        step = rng.random()
        if step < 0.15:
            messages.append({"role": "user", "content": words.paragraph((1, 4))})
        elif step < 0.55:
            tool = rng.choice(TOOLS)
            call_id = f"call_{_hex(rng, 24)}"
            arguments = json.dumps({"query": " ".join(words.some(rng.randint(2, 6))), "limit": rng.randint(1, 20)})
            call = {"id": call_id, "type": "function", "function": {"name": tool, "arguments": arguments}}
            messages.append(
                {
                    "role": "assistant",
                    "content": words.sentence(),
                    "tool_calls": [call],
                }
            )
            messages.append(
                {
                    "role": "tool",
                    "name": tool,
                    "tool_call_id": call_id,
                    "content": _tool_result(rng, words, tool, sites, files),
                    "metadata": {"elapsed_ms": rng.randint(20, 9000), "bytes": rng.randint(100, 90000)},
                }
            )
            last_result = messages[-1]["content"]
        else:
            answer = words.paragraph((2, 8))
            if last_result and rng.random() < 0.5:
                answer += f'\n\nFrom the source: "{_quote(rng, last_result)}"'
            messages.append({"role": "assistant", "content": answer})
    return messages[:length]


if __name__ == "__main__":
    sample = conversation(seed=1, length=50)
    raw = json.dumps(sample).encode()
    print(f"{len(sample)} messages, {len(raw):,} bytes of JSON")
    print(json.dumps(sample[:4], indent=2)[:3000])
