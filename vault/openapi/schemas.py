"""JSON Schema (2020-12, as OpenAPI 3.1 uses it) from the attrs classes on the wire.

The schemas are derived from the same classes and field types that the
converter structures and unstructures, so they follow every change to them.
A request body is closed (`additionalProperties: false`) because the
converter rejects unknown fields, and a field without a default is required.
A response record lists every field as required: unstructure always sends
each one, null included.

Every NewType in FIELD_RULES mirrors a structure hook in vault.converter; a
NewType without an entry stops the build, so a new field rule cannot go
undescribed.
"""

from __future__ import annotations

import enum
import inspect
import types
import typing
from typing import Any, Literal, get_args, get_origin

import attrs

from vault.converter import MAX_INT, MAX_NAME_LENGTH
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
from vault.models import UtcTime

Schema = dict[str, Any]

UTC_TIME_EXAMPLE = "2026-11-26T08:47:53.123456+00:00"

FIELD_RULES: dict[Any, Schema] = {
    Name: {
        "type": "string",
        "minLength": 1,
        "maxLength": MAX_NAME_LENGTH,
        # Not only blanks, as str.strip() counts them: regex dialects disagree on what \s is, so spelled out.
        "pattern": r"[^\t-\r\x1c- \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]",
        "description": f"1 to {MAX_NAME_LENGTH} characters, not only blanks.",
    },
    JsonObject: {"type": "object", "description": "Any JSON object."},
    Labels: {"type": "object", "additionalProperties": {"type": "string"}, "description": "Strings to strings."},
    Content: {
        "anyOf": [
            {"type": "string"},
            {"type": "array", "items": {"type": "object"}},
            {"type": "null"},
        ],
        "description": "A string, an array of content parts (objects), or null.",
    },
    ToolCalls: {"type": "array", "items": {"type": "object"}, "description": "Tool calls (objects)."},
    Timestamp: {
        "type": "string",
        "format": "date-time",
        "description": "Any ISO 8601 form; without a zone it is UTC.",
        "examples": [UTC_TIME_EXAMPLE, "2026-11-26T08:47:53Z"],
    },
    Ttl: {"type": "integer", "minimum": 1, "maximum": MAX_TTL, "description": "Seconds to live."},
    ByteCount: {"type": "integer", "minimum": 0, "maximum": MAX_INT},
    MetricValue: {
        "type": "number",
        "minimum": -MAX_METRIC_MAGNITUDE,
        "maximum": MAX_METRIC_MAGNITUDE,
        "description": "A finite number; its magnitude is bounded so that rollup sums stay finite.",
    },
    JsonValue: {"description": "Any JSON value, null included."},
    WriteIndex: {"type": "integer", "minimum": -MAX_INT - 1, "maximum": MAX_INT, "description": "A 64-bit integer."},
    Namespace: {
        "type": "string",
        "maxLength": MAX_NAME_LENGTH,
        "description": f"0 to {MAX_NAME_LENGTH} characters; empty is the thread's root namespace.",
    },
    Base64Bytes: {
        "type": "string",
        "contentEncoding": "base64",
        "pattern": "^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$",
        "description": "Bytes in base64 (RFC 4648, with padding).",
    },
    ChannelVersion: {"type": ["string", "number"], "description": "A channel's version: a string or a number."},
    UtcTime: {
        "type": "string",
        "format": "date-time",
        "description": "ISO 8601 in UTC with microseconds and offset.",
        "examples": [UTC_TIME_EXAMPLE],
    },
}

_BASIC: dict[Any, Schema] = {
    str: {"type": "string"},
    int: {"type": "integer"},
    float: {"type": "number"},
    bool: {"type": "boolean"},
}


def component_ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: Schema) -> Schema:
    """`schema` or null; a plain `type` grows a "null", anything else is wrapped."""
    kind = schema.get("type")
    if isinstance(kind, str) and not {"$ref", "enum", "anyOf"} & schema.keys():
        return {**schema, "type": [kind, "null"]}
    return {"anyOf": [schema, {"type": "null"}]}


def _default_of(attribute: attrs.Attribute) -> tuple[bool, Any]:
    """Whether the default can be shown as JSON, and that value."""
    default = attribute.default
    if isinstance(default, attrs.Factory) and not default.takes_self and default.factory in (dict, list):
        return True, default.factory()
    if isinstance(default, (str, int, float, bool, type(None))):
        return True, default
    return False, None  # UNSET: "leave unchanged", which JSON has no value for


class SchemaBook:
    """JSON Schemas of types; each attrs class is described once, as a named component."""

    def __init__(self) -> None:
        self.components: dict[str, Schema] = {}
        self._owners: dict[str, type] = {}

    def request(self, tp: Any) -> Schema:
        """A request body: closed objects, required means no default."""
        return self._schema(tp, incoming=True)

    def response(self, tp: Any) -> Schema:
        """A response body: every field of a record is always there."""
        return self._schema(tp, incoming=False)

    def add(self, name: str, schema: Schema) -> Schema:
        """A hand-written component (bodies that no attrs class describes)."""
        if name in self.components and self.components[name] != schema:
            raise ValueError(f"two different schemas are named {name}")
        self.components[name] = schema
        return component_ref(name)

    # -- types -----------------------------------------------------------------

    def _schema(self, tp: Any, *, incoming: bool) -> Schema:
        if tp in FIELD_RULES:
            return dict(FIELD_RULES[tp])
        if isinstance(tp, typing.NewType):
            raise TypeError(f"{tp.__qualname__} has no schema in vault.openapi.schemas.FIELD_RULES")
        if tp is Any or tp is object:
            return {}
        if tp in _BASIC:
            return dict(_BASIC[tp])
        if dict in (tp, get_origin(tp)):
            return self._object(tp, incoming=incoming)
        origin = get_origin(tp)
        if origin is Literal:
            return _enum(get_args(tp))
        if origin in (typing.Union, types.UnionType):
            return self._union(get_args(tp), incoming=incoming)
        if origin is list or tp is list:
            return self._array(tp, incoming=incoming)
        if attrs.has(tp):
            return self._record(tp, incoming=incoming)
        raise TypeError(f"no JSON Schema for {tp!r}")

    def _object(self, tp: Any, *, incoming: bool) -> Schema:
        args = get_args(tp)
        if len(args) == 2 and args[1] is not Any:
            return {"type": "object", "additionalProperties": self._schema(args[1], incoming=incoming)}
        return {"type": "object"}

    def _union(self, args: tuple[Any, ...], *, incoming: bool) -> Schema:
        # Unset is only ever a default (the field was not sent), never a value.
        present = [arg for arg in args if arg is not Unset and arg is not type(None)]
        can_be_null = type(None) in args
        options = [self._schema(arg, incoming=incoming) for arg in present]
        schema = options[0] if len(options) == 1 else {"anyOf": options}
        return nullable(schema) if can_be_null else schema

    def _array(self, tp: Any, *, incoming: bool) -> Schema:
        args = get_args(tp)
        schema: Schema = {"type": "array"}
        if args:
            schema["items"] = self._schema(args[0], incoming=incoming)
        if incoming:
            schema["maxItems"] = MAX_BATCH  # the converter's list hook caps every list
        return schema

    def _record(self, cls: type, *, incoming: bool) -> Schema:
        name = cls.__name__
        owner = self._owners.get(name)
        if owner is not None and owner is not cls:
            raise ValueError(f"{owner.__module__}.{name} and {cls.__module__}.{name} would share a component")
        if owner is None:
            self._owners[name] = cls
            self.components[name] = {}  # a placeholder: a class may refer to itself
            self.components[name] = self._describe_record(cls, incoming=incoming)
        return component_ref(name)

    def _describe_record(self, cls: type, *, incoming: bool) -> Schema:
        hints = typing.get_type_hints(cls)
        properties: dict[str, Schema] = {}
        required: list[str] = []
        for attribute in attrs.fields(cls):
            prop = self._schema(hints[attribute.name], incoming=incoming)
            if not incoming or attribute.default is attrs.NOTHING:
                required.append(attribute.name)
            elif (shown := _default_of(attribute))[0]:
                prop = {**prop, "default": shown[1]}
            properties[attribute.name] = prop
        schema: Schema = {"type": "object", "properties": properties}
        if required:
            schema["required"] = required
        if incoming:
            schema["additionalProperties"] = False
        doc = cls.__doc__ and inspect.cleandoc(cls.__doc__)
        if doc:
            schema["description"] = doc
        return schema


def _enum(values: tuple[Any, ...]) -> Schema:
    plain = [value.value if isinstance(value, enum.Enum) else value for value in values]
    if all(isinstance(value, str) for value in plain):
        return {"type": "string", "enum": plain}
    return {"enum": plain}


# The read replicas as /ready lists them, in its answer and in its 503.
REPLICAS_SCHEMA = {
    "type": "array",
    "description": "Each read replica: `up` serves reads; `down` does not answer (retried every second);"
    " `not_in_recovery` answers but is no standby (promoted by a failover), so serves no reads;"
    " `unknown` not yet reached.",
    "items": {
        "type": "object",
        "properties": {
            "name": {"type": "string", "examples": ["10.0.0.2:5432"]},
            "state": {"enum": ["up", "down", "not_in_recovery", "unknown"]},
            "replay_lsn": {"type": "string", "examples": ["0/3000148"]},
            "lag_bytes": {"type": ["integer", "null"], "minimum": 0},
            "lag_seconds": {"type": "number", "minimum": 0},
        },
        "required": ["name", "state", "replay_lsn", "lag_bytes", "lag_seconds"],
    },
}
