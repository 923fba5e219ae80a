"""The one cattrs converter, and how its errors become per-field messages.

cattrs by default coerces (`"7"` becomes 7, `None` becomes `"None"`); an API
must not, so every basic type gets a strict hook here, and the field rules of
vault.inputs live in hooks too, so each error keeps the path it was found at.
"""

from __future__ import annotations

import base64
import binascii
import math
import typing
from typing import Any, Literal, TypeVar, get_args, get_origin

import attrs
import cattrs
from cattrs.cols import list_structure_factory
from cattrs.errors import (
    ClassValidationError,
    ForbiddenExtraKeysError,
    IterableValidationError,
)
from cattrs.gen import make_dict_structure_fn

from vault import clock
from vault.inputs import (
    MAX_BATCH,
    MAX_METRIC_MAGNITUDE,
    MAX_TTL,
    Base64Bytes,
    ByteCount,
    ChannelVersion,
    Content,
    JsonObject,
    JsonValue,
    Labels,
    MetricValue,
    Name,
    Namespace,
    Timestamp,
    ToolCalls,
    Ttl,
    Unset,
    WriteIndex,
)

T = TypeVar("T")
MAX_NAME_LENGTH = 256
MAX_INT = 2**63 - 1

converter = cattrs.Converter(forbid_extra_keys=True, detailed_validation=True)


class FieldRule(ValueError):
    """A value broke a field's rule; the message says which."""


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _expect(kind: str, value: Any) -> FieldRule:
    return FieldRule(f"must be {kind}, got {_type_name(value)}")


# -- basic types -----------------------------------------------------------


def _structure_str(value: Any, _: type) -> str:
    if not isinstance(value, str):
        raise _expect("a string", value)
    return value


def _whole_number(value: Any) -> int | None:
    """An integer, or a float with nothing after the point: JSON Schema counts 3600.0 as an integer too."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _structure_int(value: Any, _: type) -> int:
    number = _whole_number(value)
    if number is None:
        raise _expect("an integer", value)
    if not -MAX_INT - 1 <= number <= MAX_INT:
        raise FieldRule("is out of the 64-bit integer range")
    return number


def _structure_float(value: Any, _: type) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _expect("a number", value)
    try:
        number = float(value)
    except OverflowError:
        raise FieldRule("is out of range for a number") from None
    if not math.isfinite(number):
        raise FieldRule("must be a finite number")
    return number


def _structure_metric_value(value: Any, _: type) -> float:
    number = _structure_float(value, float)
    if abs(number) > MAX_METRIC_MAGNITUDE:
        raise FieldRule(f"must be from -{MAX_METRIC_MAGNITUDE:g} to {MAX_METRIC_MAGNITUDE:g}")
    return number


def _structure_bool(value: Any, _: type) -> bool:
    if not isinstance(value, bool):
        raise _expect("a boolean", value)
    return value


converter.register_structure_hook(str, _structure_str)
converter.register_structure_hook(int, _structure_int)
converter.register_structure_hook(float, _structure_float)
converter.register_structure_hook(bool, _structure_bool)
converter.register_structure_hook(typing.Any, lambda value, _: value)


# -- field rules -------------------------------------------------------------


def structure_name(value: Any, _: type = Name) -> str:
    if not isinstance(value, str):
        raise _expect("a string", value)
    if not value.strip():
        raise FieldRule("must not be empty")
    if len(value) > MAX_NAME_LENGTH:
        raise FieldRule(f"must be at most {MAX_NAME_LENGTH} characters")
    return value


def _structure_object(value: Any, _: type) -> dict:
    if not isinstance(value, dict):
        raise _expect("an object", value)
    return value


def _structure_labels(value: Any, _: type) -> dict:
    if not isinstance(value, dict):
        raise _expect("an object of strings", value)
    for label, text in value.items():
        if not isinstance(text, str):
            raise FieldRule(f"label {label!r} must be a string, got {_type_name(text)}")
    return value


def _structure_content(value: Any, _: type) -> Any:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, list):
        if all(isinstance(part, dict) for part in value):
            return value
        raise FieldRule("must be a string, an array of objects, or null")
    raise _expect("a string, an array of objects, or null", value)


def _structure_tool_calls(value: Any, _: type) -> list:
    if not isinstance(value, list) or not all(isinstance(call, dict) for call in value):
        raise _expect("an array of objects", value)
    return value


def _structure_timestamp(value: Any, _: type) -> str:
    if not isinstance(value, str):
        raise _expect("an ISO 8601 timestamp string", value)
    return clock.normalize_time(value)


def _structure_ttl(value: Any, _: type) -> int:
    seconds = _whole_number(value)
    if seconds is None:
        raise _expect("a whole number of seconds", value)
    if not 1 <= seconds <= MAX_TTL:
        raise FieldRule(f"must be from 1 to {MAX_TTL} seconds")
    return seconds


def _structure_byte_count(value: Any, _: type) -> int:
    count = _whole_number(value)
    if count is None:
        raise _expect("an integer", value)
    if not 0 <= count <= MAX_INT:
        raise FieldRule("must be from 0 to 2^63-1")
    return count


def _structure_namespace(value: Any, _: type) -> str:
    if not isinstance(value, str):
        raise _expect("a string", value)
    if len(value) > MAX_NAME_LENGTH:
        raise FieldRule(f"must be at most {MAX_NAME_LENGTH} characters")
    return value


def _structure_base64(value: Any, _: type) -> bytes:
    if not isinstance(value, str):
        raise _expect("a base64 string", value)
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise FieldRule("must be base64 (RFC 4648, with padding)") from None


def _structure_channel_version(value: Any, _: type) -> str | int | float:
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return value
    raise _expect("a string or a finite number", value)


converter.register_structure_hook(Name, structure_name)
converter.register_structure_hook(Namespace, _structure_namespace)
converter.register_structure_hook(WriteIndex, _structure_int)
converter.register_structure_hook(Base64Bytes, _structure_base64)
converter.register_structure_hook(ChannelVersion, _structure_channel_version)
converter.register_structure_hook(JsonObject, _structure_object)
converter.register_structure_hook(Labels, _structure_labels)
converter.register_structure_hook(Content, _structure_content)
converter.register_structure_hook(ToolCalls, _structure_tool_calls)
converter.register_structure_hook(Timestamp, _structure_timestamp)
converter.register_structure_hook(Ttl, _structure_ttl)
converter.register_structure_hook(MetricValue, _structure_metric_value)
converter.register_structure_hook(ByteCount, _structure_byte_count)
converter.register_structure_hook(JsonValue, lambda value, _: value)


# -- shapes: objects, arrays, enumerations, optional fields ------------------


def _is_literal(tp: Any) -> bool:
    return get_origin(tp) is Literal


def _literal_factory(tp: Any):
    allowed = get_args(tp)
    listing = ", ".join(repr(option) for option in allowed)

    def structure(value: Any, _: type) -> Any:
        if isinstance(value, str) and value in allowed:
            return value
        raise FieldRule(f"must be one of {listing}")

    return structure


def _has_unset(tp: Any) -> bool:
    return Unset in get_args(tp)


def _without_unset_factory(tp: Any):
    # UNSET is only ever a default; a value that was sent is one of the rest.
    rest = tuple(arg for arg in get_args(tp) if arg is not Unset)
    inner = rest[0] if len(rest) == 1 else typing.Union[rest]  # noqa: UP007
    hook = converter.get_structure_hook(inner)
    return lambda value, _: hook(value, inner)


def _attrs_factory(cls: type):
    build = make_dict_structure_fn(cls, converter, _cattrs_forbid_extra_keys=True)

    def structure(value: Any, _: type) -> Any:
        if not isinstance(value, dict):
            raise _expect("an object", value)
        return build(value, cls)

    return structure


def _is_list(tp: Any) -> bool:
    return get_origin(tp) is list


def _list_factory(tp: Any):
    build = list_structure_factory(tp, converter)

    def structure(value: Any, _: type) -> list:
        if not isinstance(value, list):
            raise _expect("an array", value)
        if len(value) > MAX_BATCH:
            raise FieldRule(f"must have at most {MAX_BATCH} items")
        return build(value, tp)

    return structure


converter.register_structure_hook_factory(_is_literal, _literal_factory)
converter.register_structure_hook_factory(_has_unset, _without_unset_factory)
converter.register_structure_hook_factory(attrs.has, _attrs_factory)
converter.register_structure_hook_factory(_is_list, _list_factory)


# -- errors --------------------------------------------------------------------


def field_errors(error: BaseException, loc: tuple[Any, ...] = ("body",)) -> list[dict[str, Any]]:
    """Flatten a cattrs error tree into `{"loc": [...], "msg": ...}` items."""
    if isinstance(error, ForbiddenExtraKeysError):
        return [{"loc": [*loc, key], "msg": "is not a known field"} for key in sorted(error.extra_fields)]
    if isinstance(error, (ClassValidationError, IterableValidationError)):
        found: list[dict[str, Any]] = []
        with_notes, without_notes = error.group_exceptions()
        for inner, note in with_notes:
            step = note.name if hasattr(note, "name") else note.index
            found.extend(field_errors(inner, (*loc, step)))
        for inner in without_notes:
            found.extend(field_errors(inner, loc))
        return found
    if isinstance(error, KeyError):
        return [{"loc": list(loc), "msg": "is required"}]
    if isinstance(error, FieldRule):
        return [{"loc": list(loc), "msg": str(error)}]
    if isinstance(error, ValueError):
        return [{"loc": list(loc), "msg": str(error) or "is not a valid value"}]
    return [{"loc": list(loc), "msg": "is not a valid value"}]


# -- documents out -----------------------------------------------------------

# A document field of a model (a state's data, a message's metadata, a checkpoint)
# holds what JSON parsing made: objects, arrays, strings, numbers. It goes out as it
# is; by default cattrs walks it, a call for every value, to find nothing to change.
converter.register_unstructure_hook_func(lambda cls: cls == dict[str, Any], lambda document: document)


def unstructure(value: Any) -> Any:
    return converter.unstructure(value)
