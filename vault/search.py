"""Search over history, as every backend does it: what a message is found by, queries, snippets.

A message is indexed by its words: the text of its content (a string, or the
text parts of a list) and the names and arguments of its tool calls, folded
(lower case, accents gone: `Café` is `cafe`) and cut into runs of letters and
digits. Both engines are given those words joined by spaces, and queries are
cut the same way, so SQLite's FTS5 and PostgreSQL's text search match the
same messages, and no character of a query ever reaches an engine's syntax.

A query is words (all must occur, in any order), `"quoted phrases"` (words
side by side) and `word*` prefixes. Anything else is text: `C++`, `-x` or a
stray quote only contribute their letters and digits.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterator
from typing import Any

from attrs import frozen

# Letters and digits; the underscore and every other character separate words.
WORD = re.compile(r"[^\W_]+")
# A quoted phrase (its closing quote may be missing; a star after it makes its last word a prefix),
# or a run without spaces.
QUERY_PART = re.compile(r'"([^"]*)("\*|"|$)|([^\s"]+)')
# The combining marks that NFKD splits off accented letters (é is e and U+0301).
COMBINING = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
SNIPPET_CHARS = 160
ELLIPSIS = "…"


@frozen
class Term:
    """Words that must occur side by side (one word: anywhere); with `prefix`, the last one starts a word."""

    words: tuple[str, ...]
    prefix: bool = False


def fold(text: str) -> str:
    """Lower case without accents: what is indexed and searched (most text is ASCII, and costs one lower())."""
    if text.isascii():
        return text.lower()
    return COMBINING.sub("", unicodedata.normalize("NFKD", text)).lower()


def _fold_char(char: str) -> str:
    """fold() of one character, for finding where a folded word sits in the original text."""
    return char.lower() if char.isascii() else fold(char)


# fold() and WORD in one pass for ASCII text: upper case to lower, every byte that is
# not a letter or digit to a space. Most text is ASCII, and this is about four times
# as fast as the regular expression over it.
_ASCII_WORDS = bytes(
    byte + 32 if 65 <= byte <= 90 else byte if 48 <= byte <= 57 or 97 <= byte <= 122 else 32 for byte in range(256)
)


def words_of(text: str) -> list[str]:
    if text.isascii():
        return text.encode("ascii").translate(_ASCII_WORDS).decode("ascii").split()
    return WORD.findall(fold(text))


def parse_query(q: str) -> tuple[Term, ...]:
    """The terms of a query; none when it holds no letter or digit."""
    terms = []
    for match in QUERY_PART.finditer(q):
        phrase, closing, bare = match.groups()
        words = tuple(words_of(phrase if phrase is not None else bare))
        prefix = closing == '"*' if phrase is not None else bare.endswith("*")
        if words:
            terms.append(Term(words, prefix=prefix))
    return tuple(terms)


# -- what a message is found by


def searchable_text(message: dict[str, Any]) -> str:
    """The text of a message that search looks at, one part a line."""
    return "\n".join(_texts(message.get("content"), message.get("tool_calls")))


def indexed_words(message: dict[str, Any]) -> str:
    """What the engines index: the searchable text's words, folded, in order, joined by spaces."""
    content = message.get("content")
    if isinstance(content, str) and message.get("tool_calls") is None:
        # Most messages: one text and no calls, without the generators below.
        return " ".join(words_of(content))
    return " ".join(words_of(searchable_text(message)))


def _texts(content: Any, tool_calls: Any) -> Iterator[str]:
    yield from _content_texts(content)
    for call in tool_calls if isinstance(tool_calls, list) else ():
        yield from _call_texts(call)


def _content_texts(content: Any) -> Iterator[str]:
    if isinstance(content, str):
        yield content
    elif isinstance(content, list):
        for part in content:
            if isinstance(part, str):
                yield part
            elif isinstance(part, dict):
                yield from _part_texts(part)


def _part_texts(part: dict[str, Any]) -> Iterator[str]:
    """A content part: its text; a tool use's name and input; a tool result's content."""
    if isinstance(part.get("text"), str):
        yield part["text"]
    if part.get("type") == "tool_use":
        yield from _call_texts(part)
    if "content" in part and part.get("type") == "tool_result":
        yield from _content_texts(part["content"])


def _call_texts(call: Any) -> Iterator[str]:
    """A tool call's name and arguments, in the shapes agent frameworks give them."""
    if not isinstance(call, dict):
        return
    function = call.get("function") if isinstance(call.get("function"), dict) else call
    if isinstance(function.get("name"), str):
        yield function["name"]
    for key in ("arguments", "input", "args"):
        if key in function:
            arguments = function[key]
            yield arguments if isinstance(arguments, str) else json.dumps(arguments, ensure_ascii=False)
            return


# -- snippets


def snippet(text: str, terms: tuple[Term, ...]) -> tuple[str, list[list[int]]]:
    """Plain text around the first match, and the [start, end) offsets of every matched word inside it."""
    spans = _matches(text, terms)
    if not spans:
        start, end = 0, min(len(text), SNIPPET_CHARS)
    else:
        first = spans[0][0]
        start = max(0, first - SNIPPET_CHARS // 3)
        end = min(len(text), start + SNIPPET_CHARS)
        start = max(0, min(start, end - SNIPPET_CHARS))
        start, end = _at_word_edges(text, start, end)
    lead = ELLIPSIS if start > 0 else ""
    tail = ELLIPSIS if end < len(text) else ""
    shift = len(lead) - start
    highlights = [[s + shift, e + shift] for s, e in spans if s >= start and e <= end]
    return lead + text[start:end] + tail, highlights


def _at_word_edges(text: str, start: int, end: int) -> tuple[int, int]:
    """Move a cut that falls inside a word to the word's edge, so no word is shown in half."""
    if 0 < start < len(text):
        while start < end and text[start - 1].isalnum() and text[start].isalnum():
            start += 1
    if 0 < end < len(text):
        while end > start and text[end - 1].isalnum() and text[end].isalnum():
            end -= 1
    return start, end


def _words_with_spans(text: str) -> list[tuple[str, int, int]]:
    """Each folded word of `text` with its [start, end) in `text` itself."""
    folded: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(text):
        for piece in _fold_char(char):
            folded.append(piece)
            origin.append(index)
    flat = "".join(folded)
    return [(match.group(), origin[match.start()], origin[match.end() - 1] + 1) for match in WORD.finditer(flat)]


def _matches(text: str, terms: tuple[Term, ...]) -> list[tuple[int, int]]:
    words = _words_with_spans(text)
    found: set[tuple[int, int]] = set()
    for term in terms:
        size = len(term.words)
        for at in range(len(words) - size + 1):
            window = words[at : at + size]
            if all(_word_matches(window[i][0], term, i) for i in range(size)):
                found.update((start, end) for _, start, end in window)
    return sorted(found)


def _word_matches(word: str, term: Term, index: int) -> bool:
    wanted = term.words[index]
    if term.prefix and index == len(term.words) - 1:
        return word.startswith(wanted)
    return word == wanted
