"""Between Python values and the bytes on the wire, on the client's side.

The service's own converter (vault.converter) is strict on purpose: it
rejects unknown fields in what clients send. A client must be the opposite
about what it receives, or a field added to a newer service would break
every older client; so answers are structured with a lenient converter of
their own: unknown fields are ignored.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal, TypeVar, get_origin
from urllib.parse import quote

import cattrs

from vault.client import errors
from vault.models import ScopedState, State, UtcTime

T = TypeVar("T")

converter = cattrs.Converter(forbid_extra_keys=False)
# A closed set of values (a session's status, a message's role) may grow on
# a newer service; the value is kept as the text it is, not refused.
converter.register_structure_hook_factory(lambda tp: get_origin(tp) is Literal, lambda _: lambda value, _: value)


def parse_time(value: Any, _: Any = None) -> datetime:
    """A timestamp of an answer, as an aware datetime (the service writes ISO 8601 with an offset)."""
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        raise TypeError(f"a timestamp must be ISO 8601 text, not {type(value).__name__}")
    return datetime.fromisoformat(value)


# The service's records hold their times as text; the client hands them out as datetimes.
converter.register_structure_hook(UtcTime, parse_time)
converter.register_structure_hook(datetime, parse_time)


def structure(data: Any, cls: type[T]) -> T:
    try:
        return converter.structure(data, cls)
    except (cattrs.BaseValidationError, TypeError, ValueError) as exc:
        raise errors.UnexpectedResponse(f"the answer is not a {cls.__name__}: {exc}") from exc


def structure_list(data: Any, cls: type[T]) -> list[T]:
    if not isinstance(data, list):
        raise errors.UnexpectedResponse(f"expected a JSON array of {cls.__name__}, got {type(data).__name__}")
    return [structure(item, cls) for item in data]


def encode_json(value: Any) -> bytes:
    # NaN and infinities are not JSON; refusing them here names the caller's bug.
    return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


def decode_json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError as exc:
        raise errors.UnexpectedResponse(f"the answer is not JSON: {body[:200]!r}") from exc


def segment(value: str) -> str:
    """One path segment, percent-encoded: a cache key may hold `/`, `?` or `%`."""
    return quote(value, safe="")


def timestamp(value: str | datetime) -> str:
    """ISO 8601 text; a datetime without a zone is sent as is (the service reads it as UTC)."""
    return value.isoformat() if isinstance(value, datetime) else value


def etag(version: int) -> str:
    return f'"{version}"'


def query(**params: Any) -> dict[str, str]:
    """Query parameters, leaving out those not given."""
    found: dict[str, str] = {}
    for name, value in params.items():
        if value is None:
            continue
        found[name] = timestamp(value) if isinstance(value, datetime) else str(value)
    return found


def fields(**values: Any) -> dict[str, Any]:
    """A request body with the fields that were given (None means not given)."""
    return {name: value for name, value in values.items() if value is not None}


def error_from_answer(status: int, headers: Mapping[str, str], body: bytes) -> errors.VaultError:
    """The typed error for a non-2xx answer, from the contract's error body."""
    try:
        data = json.loads(body) if body else None
    except ValueError:
        data = None
    if not isinstance(data, dict):
        # Not The Vault's error body: a proxy's page, or an empty answer.
        text = body[:200].decode("utf-8", "replace").strip()
        data = {"detail": text or f"HTTP {status}"}
    detail = str(data.get("detail") or f"HTTP {status}")
    code = data.get("error") if isinstance(data.get("error"), str) else None
    field_errors = data.get("errors") if isinstance(data.get("errors"), list) else None
    cls = errors.error_class(status, code)
    common: dict[str, Any] = {"status": status, "code": code, "errors": field_errors, "body": data, "headers": headers}
    if issubclass(cls, errors.PreconditionFailed):
        current = data.get("current")
        record = ScopedState if isinstance(current, dict) and "app_name" in current else State
        state = structure(current, record) if isinstance(current, dict) else None
        return cls(detail, current=state, **common)
    if issubclass(cls, errors.Busy):
        return cls(detail, retry_after=errors.parse_retry_after(headers.get("Retry-After")), **common)
    return cls(detail, **common)
