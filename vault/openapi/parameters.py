"""Path, query and header parameters, and the response headers routes send.

The rules follow vault.handlers.common.QueryReader: a text filter follows the Name
rule, `limit` is 1..MAX_LIMIT, an empty value counts as absent.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from attrs import frozen

from vault.inputs import MAX_IDEMPOTENCY_KEY, Name
from vault.openapi.schemas import FIELD_RULES, Schema
from vault.queries import DEFAULT_LIMIT, MAX_LIMIT

MAX_OFFSET = 2**62


@frozen
class Param:
    name: str
    location: str  # "path", "query" or "header"
    schema: Schema
    description: str = ""
    required: bool = False

    def render(self) -> dict[str, Any]:
        rendered: dict[str, Any] = {"name": self.name, "in": self.location, "schema": self.schema}
        if self.description:
            rendered["description"] = self.description
        if self.required or self.location == "path":
            rendered["required"] = True
        elif self.location == "query":
            # An empty value counts as absent (vault.handlers.common.QueryReader).
            rendered["allowEmptyValue"] = True
        return rendered


def path_id(name: str, description: str, **rules: Any) -> Param:
    return Param(name, "path", {"type": "string", **rules}, description)


def text_filter(name: str, description: str, *, required: bool = False) -> Param:
    return Param(name, "query", _name_rule(), description, required)


def choice(name: str, options: Iterable[str], description: str, default: str | None = None) -> Param:
    schema: Schema = {"type": "string", "enum": list(options)}
    if default is not None:
        schema["default"] = default
    return Param(name, "query", schema, description)


def time_filter(name: str, description: str) -> Param:
    schema = {"type": "string", "format": "date-time", "examples": ["2026-11-26T08:00:00Z"]}
    return Param(name, "query", schema, f"{description} (ISO 8601).")


def path_name(name: str, description: str) -> Param:
    """A path parameter that is a name: 1 to 256 characters, not only blanks."""
    return Param(name, "path", _name_rule(), description)


def _name_rule() -> Schema:
    rule = dict(FIELD_RULES[Name])
    rule.pop("description", None)
    return rule


LIMIT = Param(
    "limit",
    "query",
    {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
    "Most items to return.",
)
OFFSET = Param(
    "offset", "query", {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET, "default": 0}, "Items to skip."
)
IDEMPOTENCY_KEY = Param(
    "Idempotency-Key",
    "header",
    {"type": "string", "minLength": 1, "maxLength": MAX_IDEMPOTENCY_KEY, "pattern": "^[!-~]([ -~]*[!-~])?$"},
    "Printable ASCII, no spaces at either end (HTTP strips them). "
    "A retry with the same key and body returns the first answer and writes nothing twice; "
    "the same key with another body is a 422 (`idempotency_key_reused`).",
)
IF_MATCH = Param(
    "If-Match",
    "header",
    # What vault.handlers.common.if_match takes: `*`, or a version, quoted or not, weak or not.
    {"type": "string", "pattern": r'^\s*(\*|(W/)?"*[0-9]{1,18}"*)\s*$', "examples": ['"3"', "*"]},
    'The version this change expects, as the ETag sent it (`"3"`), or `*`. Another version: 412.',
)
SESSION_ID = path_id("session_id", "A session id (`session_...`).")

# Taken by every route (vault.read_positions reads it before any handler).
MIN_LSN = Param(
    "Vault-Min-LSN",
    "header",
    {"type": "string", "pattern": "^[0-9A-Fa-f]{1,8}/[0-9A-Fa-f]{1,8}$", "examples": ["0/3000148"]},
    "A `Vault-Commit-LSN` from an earlier write: the read is never answered with data older than that WAL"
    " position, whichever instance serves it (a replica that has not replayed it leaves the read to the"
    " primary). Not such a position: 422.",
)

# Response headers, by name; a reply lists the ones it sends.
RESPONSE_HEADERS: dict[str, dict[str, Any]] = {
    "Vault-Commit-LSN": {
        "description": "On PostgreSQL, every answer to a write that committed: the WAL position of the commit"
        " (`0/3000148`). Send it as `Vault-Min-LSN` to read it back through another instance.",
        "schema": {"type": "string"},
    },
    "Location": {
        "description": "Where the created thing can be read.",
        "schema": {"type": "string"},
        "required": True,
    },
    "Link": {
        "description": 'Sent when another page follows: `</storage/...?offset=100&limit=100>; rel="next"`.',
        "schema": {"type": "string"},
    },
    "ETag": {
        "description": 'The state\'s version, quoted (`"3"`): send it back in If-Match. For artifact content, '
        "its sha256, quoted: send it back in If-None-Match or If-Range.",
        "schema": {"type": "string"},
        "required": True,
    },
    "Content-Disposition": {
        "description": "`attachment`, with the artifact's name as a quoted ASCII fallback and as `filename*` "
        "(UTF-8, RFC 8187).",
        "schema": {"type": "string"},
        "required": True,
    },
    "Content-Range": {
        "description": "`bytes <first>-<last>/<size>` on a 206; `bytes */<size>` on a 416.",
        "schema": {"type": "string"},
        "required": True,
    },
    "X-Content-Type-Options": {
        "description": "`nosniff`: the declared Content-Type is the only one.",
        "schema": {"type": "string"},
        "required": True,
    },
    "Vault-Event-Cursor": {
        "description": "Sent with the change feed's JSON form (not with the stream): the id to send as `after`"
        " next, the last event's in the list, or, for an empty list, where this request started (`after=now`"
        " made concrete). A client that polls with it never misses an event between two requests.",
        "schema": {"type": "string", "pattern": "^[0-9]{20}$"},
    },
    "Retry-After": {"description": "Seconds to wait before trying again.", "schema": {"type": "integer"}},
    "WWW-Authenticate": {"description": "`Bearer`: the scheme to use.", "schema": {"type": "string"}},
}
