"""Stored JSON is the standard encoder's text, whichever encoder makes it (vault.jsonutil.dumps_text).

orjson writes documents without floats; the standard encoder writes the rest
and whatever orjson refuses. What is stored must not depend on which did:
the same bytes, and the same refusals (NaN, lone surrogates).
"""

from __future__ import annotations

import enum
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from vault.store.core import records
from vault.store.errors import StoreUnavailable

from tests.test_json_parsing import json_values
from vault import jsonutil

STANDARD = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))

plain_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)


@given(plain_values)
def test_a_document_without_floats_is_stored_as_the_standard_encoder_writes_it(value):
    assert jsonutil.dumps_text(value) == STANDARD.encode(value)


@given(json_values)
def test_any_document_is_stored_as_the_standard_encoder_writes_it(value):
    assert jsonutil.dumps_text(value) == STANDARD.encode(value)


def test_every_character_is_written_as_the_standard_encoder_writes_it():
    text = "".join(chr(code) for code in range(0x110000) if not 0xD800 <= code < 0xE000)
    assert jsonutil.dumps_text({"content": text}) == STANDARD.encode({"content": text})


@pytest.mark.parametrize(
    "value",
    [
        {"n": 1e-07, "m": 1e16, "k": -0.0},  # forms orjson writes differently (1e-7, 1e16)
        {"id": 2**64, "low": -(2**63) - 1},  # beyond what orjson writes
        {1: "a", None: "b", 2.5: "c"},  # keys the standard encoder turns into strings
        [(1, 2), "tuple"],
    ],
)
def test_what_orjson_would_write_otherwise_is_left_to_the_standard_encoder(value):
    assert jsonutil.dumps_text(value) == STANDARD.encode(value)


class Colour(enum.StrEnum):
    RED = "red"


def test_subclasses_are_left_to_the_standard_encoder():
    assert jsonutil.dumps_text({"colour": Colour.RED}) == STANDARD.encode({"colour": Colour.RED})


@pytest.mark.parametrize("value", [float("nan"), float("inf"), {"deep": [1, {"x": float("-inf")}]}])
def test_values_json_cannot_hold_are_refused(value):
    with pytest.raises(ValueError):
        jsonutil.dumps_text(value)


def test_a_lone_surrogate_is_kept_for_the_utf8_check_to_refuse():
    # The standard encoder passes it through; storing it then fails on UTF-8 (records.storable_text).
    text = jsonutil.dumps_text({"content": "\ud800"})
    assert text == STANDARD.encode({"content": "\ud800"})
    with pytest.raises(UnicodeEncodeError):
        text.encode("utf-8")


# Text with lone surrogates often enough to meet them (any character is rarely one).
any_text = st.text(st.characters(codec=None, categories=None)) | st.text(
    st.characters(categories=["Cs"]) | st.sampled_from('ab\u00e9\u2028\x00"\\'), max_size=6
)
# What the store's own callers never send, but a value of another type must still take the general path.
odd_values = st.integers(min_value=-(2**70), max_value=2**70) | st.floats() | st.booleans() | st.just([])
message_fields = st.fixed_dictionaries(
    {
        "role": st.sampled_from(["user", "assistant", "system", "tool"]) | odd_values,
        "content": st.none() | any_text | st.lists(st.dictionaries(st.text(max_size=4), plain_values), max_size=2),
        "name": st.none() | any_text | odd_values,
        "tool_calls": st.none() | st.lists(st.dictionaries(st.text(max_size=4), json_values), max_size=2),
        "tool_call_id": st.none() | any_text | odd_values,
        "metadata": st.just({})
        | st.dictionaries(st.text(max_size=4), json_values, max_size=3)
        | st.sampled_from([0, 0.0, -0.0, False, "", [], None]),
        "timestamp": st.just("2026-12-01T00:00:00.000000Z") | odd_values,
    }
)


def stored_or_refused(encode, fields):
    try:
        return encode(fields)
    except StoreUnavailable:
        return StoreUnavailable


@settings(max_examples=500)
@given(message_fields)
def test_a_messages_fields_are_stored_as_any_document_is(fields):
    """message_text skips the walk for floats on messages of text; what it stores and refuses does not change."""
    assert stored_or_refused(records.message_text, fields) == stored_or_refused(records.storable_text, fields)


@pytest.mark.parametrize(
    "content", ["plain", 'caf\u00e9 \u2028 \x00\x1f"\\', "\ud800 lone", "pair \ud83d\ude00 apart", ""]
)
@pytest.mark.parametrize("timestamp", ["2026-12-01T00:00:00.000000Z", 1e-07, float("nan")])
def test_a_message_of_text_is_stored_as_any_document_is(content, timestamp):
    fields = {"role": "user", "content": content, "name": None, "tool_calls": None, "tool_call_id": "call_1"}
    fields |= {"metadata": {}, "timestamp": timestamp}
    assert stored_or_refused(records.message_text, fields) == stored_or_refused(records.storable_text, fields)


@pytest.mark.parametrize("field", ["role", "name", "tool_call_id", "timestamp", "metadata"])
@pytest.mark.parametrize("value", [1e-07, 1e16, float("nan"), 2**64, False, 0.0])
def test_a_field_of_another_type_takes_the_general_path(field, value):
    """Forms orjson writes differently (1e-7, 1e16, NaN as null) or refuses (2**64): each field's type is checked."""
    fields = {"role": "user", "content": "text", "name": None, "tool_calls": None, "tool_call_id": None}
    fields |= {"metadata": {}, "timestamp": "2026-12-01T00:00:00.000000Z", field: value}
    assert stored_or_refused(records.message_text, fields) == stored_or_refused(records.storable_text, fields)
