"""The OpenAPI 3.1 document, assembled once from the descriptions beside the handlers.

Each handler carries the description of the routes it serves (`@described` in
vault.openapi.operation). A new route needs one: tests/http/test_openapi.py
fails while a registered route is undescribed or a description names no route,
and every JSON response the handler tests receive is checked against it.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from aiohttp import web

from vault import __version__
from vault.handlers import ROUTE_TABLES
from vault.handlers.artifacts import MEDIA_TYPE_PATTERN
from vault.openapi.error_responses import add_error_components
from vault.openapi.operation import Operation, operations_of
from vault.openapi.parameters import RESPONSE_HEADERS
from vault.openapi.schemas import SchemaBook

DESCRIPTION = """\
The persistence sidecar of an agent platform: sessions, their message history,
per-session state, artifacts, metrics and a cache with TTL.

JSON in and out. Every error is `{"detail": "...", "error": "code"}`; a 422 adds
`errors: [{"loc": [...], "msg": "..."}]` naming every bad field. Lists are plain
JSON arrays with a `Link: <...>; rel="next"` header when another page follows.
Timestamps are ISO 8601 in UTC with an offset. Every response carries an
`X-Request-ID` (the one sent, or a new one). With `VAULT_API_KEYS` set, every
route but `/health` and the console's page and assets (`/ui`, which hold no
stored data) needs `Authorization: Bearer <key>`.

Compression: a JSON or text answer of 1 KiB or more comes in `zstd` or `gzip`
(`Content-Encoding`) when `Accept-Encoding` allows one (zstd preferred, weights
honoured), and every JSON or text answer says `Vary: Accept-Encoding`; artifact
content always comes as stored. Any request body may be sent with
`Content-Encoding: gzip` or `zstd`: its decoded size counts against the body
limit (413), a body that does not decode is a 400, any other encoding a 415.

Reading your writes across instances (PostgreSQL with read replicas): every
write answer carries `Vault-Commit-LSN`, the WAL position of its commit (such as
`0/3000148`). Each instance already serves its own clients' reads no older than
its latest commit; a client that wrote through one instance and reads through
another sends the position back as `Vault-Min-LSN`, and the read is served by a
replica only once it has replayed that far, else by the primary. A
`Vault-Min-LSN` that is not such a position is a 422. On SQLite there is one
database: `Vault-Min-LSN` is checked and otherwise ignored, and
`Vault-Commit-LSN` is not sent.
"""

TAGS = (
    ("sessions", "An agent's conversation: who, which agent, its status."),
    ("history", "The messages of a session, numbered by `seq`."),
    ("search", "Messages found by their words, across sessions."),
    ("state", "A JSON object per session, and one per app and per user of an app, versioned: ETag and If-Match."),
    ("checkpoints", "A thread's checkpoints and pending writes, as graph runtimes' checkpoint savers keep them."),
    ("artifacts", "Files a session produced."),
    ("metrics", "Points and their rollups."),
    ("cache", "JSON values by key, with a TTL."),
    ("admin", "Backups and scheduled jobs."),
    ("service", "Liveness, readiness, metrics and this description."),
    ("console", "The read-only web console's page and assets; every call it makes for data needs the key."),
)


def described_operations(route_tables: tuple[web.RouteTableDef, ...]) -> tuple[Operation, ...]:
    """Every handler's descriptions, in route table order; a handler serving several methods counts once."""
    seen: set[int] = set()
    found: list[Operation] = []
    for table in route_tables:
        for route in table:
            handler = getattr(route, "handler", None)
            if handler is not None and id(handler) not in seen:
                seen.add(id(handler))
                found.extend(operations_of(handler))
    return tuple(found)


OPERATIONS = described_operations(ROUTE_TABLES)


def build_spec(operations: tuple[Operation, ...] = OPERATIONS) -> dict[str, Any]:
    book = SchemaBook()
    paths: dict[str, dict[str, Any]] = {}
    for operation in operations:
        methods = paths.setdefault(operation.path, {})
        method = operation.method.lower()
        if method in methods:
            raise ValueError(f"{operation.method} {operation.path} is described twice")
        methods[method] = operation.render(book)
    error_responses = add_error_components(book)
    # Rules the handlers add to the field types: no empty batch, a content_type is a media type.
    for component, items in (("MessageBatch", "messages"), ("MetricBatch", "metrics")):
        book.components[component]["properties"][items]["minItems"] = 1
    book.components["ArtifactBody"]["properties"]["content_type"].update(
        pattern=MEDIA_TYPE_PATTERN, description="A media type, such as text/csv."
    )
    return {
        "openapi": "3.1.0",
        "info": {"title": "The Vault", "version": __version__, "description": DESCRIPTION},
        "tags": [{"name": name, "description": description} for name, description in TAGS],
        "security": [{}, {"apiKey": []}],  # {}: no key needed unless VAULT_API_KEYS is set
        "paths": paths,
        "components": {
            "schemas": dict(sorted(book.components.items())),
            "responses": error_responses,
            "headers": RESPONSE_HEADERS,
            "securitySchemes": {
                "apiKey": {"type": "http", "scheme": "bearer", "description": "One of the keys in VAULT_API_KEYS."}
            },
        },
    }


@functools.cache
def spec_json() -> bytes:
    """The document as served: built on first use, then the same bytes every time."""
    return json.dumps(build_spec(), indent=1).encode()


def openapi_spec() -> dict[str, Any]:
    """A fresh copy of the document, safe to change."""
    return json.loads(spec_json())
