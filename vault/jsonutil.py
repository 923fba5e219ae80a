"""JSON in and out, with the limits an API needs.

The standard library parser keeps integers exact (a 30-digit id in metadata
survives the round trip); the checks below close the holes it leaves open:
NaN/Infinity literals, floats that overflow to infinity, escaped lone
surrogates (which SQLite cannot store as UTF-8) and unbounded nesting.

orjson parses several times faster and refuses all of those itself, but reads
an integer beyond 64 bits as a float: a document it accepts with no run of 19
digits (any such integer has one) is taken from it; every other goes to the
standard parser, whose errors are the ones a client sees.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Callable
from typing import Any, TypeVar

import orjson

T = TypeVar("T")

MAX_DEPTH = 100

# Stored JSON above this many bytes is decoded, and a response above it
# encoded, on a worker thread. One C call (a parse, an orjson encode) holds the
# GIL until it returns, so the work there goes item by item: between two items
# the event loop gets the GIL back and answers other requests (/health too).
OFF_LOOP_BYTES = 64 * 1024


class InvalidJSON(ValueError):
    """The bytes are not a JSON document this service accepts."""


class JSONTooDeep(ValueError):
    """The document nests deeper than MAX_DEPTH."""


def _reject_constant(name: str) -> float:
    raise InvalidJSON(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise InvalidJSON(f"number {text[:40]} is out of range")
    return value


_decoder = json.JSONDecoder(parse_constant=_reject_constant, parse_float=_finite_float)
_encoder = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def loads(data: bytes | str) -> Any:
    """Parse a request body; raises InvalidJSON or JSONTooDeep."""
    fast = _fast_loads(data)
    if fast is not _REFUSED:
        return fast
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidJSON(f"body is not UTF-8 (byte {exc.start})") from None
    else:
        text = data
    try:
        value = _decoder.decode(text)
    except RecursionError:
        raise JSONTooDeep(f"JSON nests deeper than {MAX_DEPTH} levels") from None
    except json.JSONDecodeError as exc:
        raise InvalidJSON(f"invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except InvalidJSON:
        raise
    except ValueError:
        # int() refuses integers longer than sys.get_int_max_str_digits() (4300 by default).
        raise InvalidJSON("invalid JSON: an integer has too many digits") from None
    # Cheap guards first: only a document that could break a rule is walked.
    if _containers_at_least(text, MAX_DEPTH) and _depth(value) > MAX_DEPTH:
        raise JSONTooDeep(f"JSON nests deeper than {MAX_DEPTH} levels")
    if "\\u" in text and ("\\ud" in text.lower()):
        try:
            _encoder.encode(value).encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidJSON("invalid JSON: lone surrogate in a string") from None
    return value


def dumps(value: Any) -> bytes:
    """Serialize a response (compact, UTF-8).

    orjson is many times faster; the standard encoder takes over for what
    orjson refuses (integers beyond 64 bits, nesting beyond 254 levels).
    Responses only: orjson writes NaN as null, so what is stored goes through
    the strict dumps_text instead.
    """
    try:
        return orjson.dumps(value)
    except orjson.JSONEncodeError:
        return _encoder.encode(value).encode("utf-8")


# Digits to one byte, so a run of 19 is a plain substring search: many times faster than a regex.
_DIGITS_AS_ONE = bytes.maketrans(b"0123456789", b"\x01" * 10)
_NINETEEN_DIGITS = b"\x01" * 19


def _has_long_digit_run(data: bytes | str) -> bool:
    """Whether 19 digits follow each other somewhere: where an integer beyond 64 bits would be."""
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogatepass")
    return _NINETEEN_DIGITS in data.translate(_DIGITS_AS_ONE)


# What _fast_loads answers when the standard parser must decide.
_REFUSED = object()


def _fast_loads(data: bytes | str) -> Any:
    """orjson's parse where it agrees with loads() (module docstring), else _REFUSED.

    orjson refuses NaN, Infinity, numbers that overflow, lone surrogates and
    invalid UTF-8 itself; it nests up to 1,024 levels, so depth is checked here.
    """
    if _has_long_digit_run(data):
        return _REFUSED
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError:
        return _REFUSED
    if _containers_at_least(data, MAX_DEPTH) and _depth(value) > MAX_DEPTH:
        raise JSONTooDeep(f"JSON nests deeper than {MAX_DEPTH} levels")
    return value


def _containers_at_least(text: bytes | str, count: int) -> bool:
    """Whether the document could nest `count` deep: it opens that many arrays and objects."""
    if isinstance(text, bytes):
        return text.count(b"[") + text.count(b"{") > count
    return text.count("[") + text.count("{") > count


def loads_stored(text: str) -> Any:
    """Parse JSON this service stored (checked when it was written).

    orjson parses it several times faster, but reads an integer beyond 64 bits
    as a float: text with a run of 19 digits (any such integer has one) goes
    to the standard parser, which keeps integers exact.
    """
    if not _has_long_digit_run(text):
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            pass
    return _decoder.decode(text)


async def off_loop(size: int, work: Callable[[], T]) -> T:
    """`work()`, on a worker thread when it handles more than OFF_LOOP_BYTES."""
    if size <= OFF_LOOP_BYTES:
        return work()
    return await asyncio.to_thread(work)


def dumps_text(value: Any) -> str:
    """Serialize for storage: strict (no NaN, no lone surrogates).

    orjson writes strings, integers, booleans and null byte for byte as the
    standard encoder does, about ten times faster; it differs on floats (the
    form of 1e-07, and NaN written as null), so a document holding anything
    else, or what orjson refuses (an integer beyond 64 bits, a lone
    surrogate), takes the standard encoder.
    """
    if _floatless(value):
        try:
            return orjson.dumps(value).decode()
        except orjson.JSONEncodeError:
            pass
    return _encoder.encode(value)


_SCALARS = frozenset({str, int, bool, type(None)})


def _floatless(value: Any) -> bool:
    """Whether the value is plain dicts and lists of strings, integers, booleans and None (no subclass)."""
    stack = [value]
    while stack:
        node = stack.pop()
        kind = type(node)
        if kind is dict:
            children = node.values()
        elif kind is list:
            children = node
        else:
            if kind not in _SCALARS:
                return False
            continue
        for child in children:
            kind = type(child)
            if kind is dict or kind is list:
                stack.append(child)
            elif kind not in _SCALARS:
                return False
    return True


def _depth(value: Any) -> int:
    """Nesting depth of a parsed document's containers (deeper than MAX_DEPTH: the first level past it).

    Walked a level at a time, only containers visited: a batch's thousand
    messages cost one tight loop over their values, not a push and pop each.
    Parsed JSON holds plain dicts and lists, so their types are compared exactly.
    """
    if type(value) is not dict and type(value) is not list:
        return 0
    level, depth = [value], 0
    while level:
        depth += 1
        if depth > MAX_DEPTH:
            return depth
        below = []
        for node in level:
            for child in node.values() if type(node) is dict else node:
                if type(child) is dict or type(child) is list:
                    below.append(child)
        level = below
    return depth


def canonical_text(value: Any) -> str:
    """One text per value whatever its key order: for grouping and comparing."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
