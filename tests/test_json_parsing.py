"""Request bodies parse the same whichever parser takes them (vault.jsonutil.loads).

orjson takes most documents and the standard parser the rest; a client must
not be able to tell which: the same values, the same refusals.
"""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vault import jsonutil

STANDARD = json.JSONDecoder()

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)


def same(left, right) -> bool:
    """Equal, and of the same types all the way down (1 and 1.0 differ here)."""
    if type(left) is not type(right):
        return False
    if isinstance(left, dict):
        return left.keys() == right.keys() and all(same(left[key], right[key]) for key in left)
    if isinstance(left, list):
        return len(left) == len(right) and all(same(a, b) for a, b in zip(left, right, strict=True))
    if isinstance(left, float) and math.isnan(left):
        return math.isnan(right)
    return left == right


@given(json_values)
def test_any_document_parses_as_the_standard_parser_reads_it(value):
    text = json.dumps(value, ensure_ascii=False)
    assert same(jsonutil.loads(text.encode()), STANDARD.decode(text))
    assert same(jsonutil.loads(text), STANDARD.decode(text))


@pytest.mark.parametrize(
    "text",
    [
        '{"id": 18446744073709551616}',
        '{"id": -9223372036854775809}',
        '{"id": 123456789012345678901234567890}',
        "[1e5, 1.0, -0.0, 9223372036854775807]",
    ],
)
def test_integers_beyond_64_bits_stay_exact(text):
    assert same(jsonutil.loads(text.encode()), STANDARD.decode(text))


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"[NaN]", "NaN is not valid JSON"),
        (b"[-Infinity]", "-Infinity is not valid JSON"),
        (b"[1e400]", "out of range"),
        (b'["\\ud800"]', "lone surrogate"),
        (b'["\xed\xa0\x80"]', "not UTF-8"),
        (b"\xff", "not UTF-8"),
        (b"[1,]", "invalid JSON"),
    ],
)
def test_what_is_refused_is_refused_with_the_same_reason(body, message):
    with pytest.raises(jsonutil.InvalidJSON, match=message):
        jsonutil.loads(body)


def test_nesting_beyond_the_limit_is_refused_by_both_parsers():
    # 150 levels: orjson alone would take it (its limit is 1,024); 2,000: only the standard parser sees it.
    for depth in (jsonutil.MAX_DEPTH + 1, 150, 2000):
        with pytest.raises(jsonutil.JSONTooDeep):
            jsonutil.loads(("[" * depth + "]" * depth).encode())
    wide = "[" + ",".join(["[]"] * 500) + "]"
    assert len(jsonutil.loads(wide.encode())) == 500


def nested(depth: int, width: int) -> str:
    """A document `depth` levels deep: objects and lists, alternating, each beside `width` empty lists."""
    text = "[]"
    for level in range(depth - 1):
        siblings = "".join(f'"s{index}":[],' if level % 2 else "[]," for index in range(width))
        text = f'{{{siblings}"d":{text}}}' if level % 2 else f"[{siblings}{text}]"
    return text


def test_nesting_is_measured_to_the_deepest_branch_whatever_the_width():
    for width in (0, 3):
        at_limit = nested(jsonutil.MAX_DEPTH, width)
        assert jsonutil.loads(at_limit.encode()) == json.loads(at_limit)
        with pytest.raises(jsonutil.JSONTooDeep):
            jsonutil.loads(nested(jsonutil.MAX_DEPTH + 1, width).encode())
