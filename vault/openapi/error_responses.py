"""The error body, described once, and the error responses that refer to it.

The body is what vault.errors.error_response writes: `detail` for people,
`error` for programs, and on a 422 `errors` naming every bad field.
"""

from __future__ import annotations

from typing import Any

from vault.models import ScopedState, State
from vault.openapi.schemas import REPLICAS_SCHEMA, Schema, SchemaBook, component_ref

FIELD_ERROR: Schema = {
    "type": "object",
    "properties": {
        "loc": {
            "type": "array",
            "items": {"type": ["string", "integer"]},
            "description": 'Where the bad value is: `["body", "ttl"]`, `["query", "limit"]`, `["header", "If-Match"]`.',
        },
        "msg": {"type": "string"},
    },
    "required": ["loc", "msg"],
}

_ERROR_PROPERTIES: dict[str, Schema] = {
    "detail": {"type": "string", "description": "A sentence for people."},
    "error": {"type": "string", "description": "A code for programs, such as `not_found`."},
}

ERROR: Schema = {
    "type": "object",
    "properties": {
        **_ERROR_PROPERTIES,
        "errors": {
            "type": "array",
            "items": component_ref("FieldError"),
            "description": "On a 422 (`validation_error`): every bad field.",
        },
        "replicas": {**REPLICAS_SCHEMA, "description": "On /ready's 503 (`not_ready`), with read replicas."},
    },
    "required": ["detail", "error"],
}

# (description, response headers it may carry, body component)
ERROR_STATUSES: dict[int, tuple[str, tuple[str, ...], str]] = {
    400: ("The body is not valid JSON, or is empty (`invalid_json`).", (), "Error"),
    401: (
        "An API key is needed: the service runs with VAULT_API_KEYS and "
        "`Authorization: Bearer <key>` was missing or wrong (`unauthorized`).",
        ("WWW-Authenticate",),
        "Error",
    ),
    403: (
        "This key may not use the administration routes: the service runs with VAULT_ADMIN_API_KEYS and the key"
        " is not one of them (`forbidden`).",
        (),
        "Error",
    ),
    404: ("No such thing (`not_found`).", (), "Error"),
    409: (
        "A conflict: a backup is already running (`backup_running`; the detail names it and when it started), "
        "or the key a create names is taken (`already_exists`).",
        (),
        "Error",
    ),
    410: (
        "The change feed no longer keeps the events after this cursor (`gone`): they are older than"
        " VAULT_EVENTS_RETENTION_HOURS. `oldest_id` is the oldest event still kept (null: none).",
        (),
        "EventsGone",
    ),
    412: (
        "If-Match names another version (`precondition_failed`); `current` is the state as it is (a session's, "
        "or an app's or user's on their routes).",
        ("ETag",),
        "PreconditionFailed",
    ),
    413: (
        "The body is larger than the service accepts (`payload_too_large`), or a document in it, or the document "
        "it would make once merged, is over VAULT_MAX_DOCUMENT_BYTES (`document_too_large`, naming the field).",
        (),
        "Error",
    ),
    415: ("The body is not sent as `application/json` (`unsupported_media_type`).", (), "Error"),
    416: (
        "The range starts past the end of the content (`range_not_satisfiable`); "
        "`Content-Range: bytes */<size>` gives the size.",
        ("Content-Range",),
        "Error",
    ),
    422: (
        "Valid JSON that breaks a rule: a wrong shape, an unknown field, a wrong type or an out-of-range value "
        "(`validation_error`, with `errors`), or an Idempotency-Key reused with another body "
        "(`idempotency_key_reused`).",
        (),
        "Error",
    ),
    503: (
        "Try again later: the write queue is full (`busy`), the service is stopping (`shutting_down`) "
        "or the database is not available (`unavailable`, `read_only`).",
        ("Retry-After",),
        "Error",
    ),
    507: ("The disk is full (`disk_full`); nothing was written.", (), "Error"),
}


def error_response_name(status: int) -> str:
    return f"Error{status}"


def add_error_components(book: SchemaBook) -> dict[str, Any]:
    """Put the error schemas into `book`; return the components' `responses` section."""
    book.add("FieldError", FIELD_ERROR)
    book.add("Error", ERROR)
    book.add(
        "PreconditionFailed",
        {
            "type": "object",
            "properties": {
                **_ERROR_PROPERTIES,
                # A session's state, or an app's or user's (/storage/state/apps/...).
                "current": {"anyOf": [book.response(State), book.response(ScopedState)]},
            },
            "required": ["detail", "error", "current"],
        },
    )
    book.add(
        "EventsGone",
        {
            "type": "object",
            "properties": {**_ERROR_PROPERTIES, "oldest_id": {"type": ["string", "null"]}},
            "required": ["detail", "error", "oldest_id"],
        },
    )
    responses: dict[str, Any] = {}
    for status, (description, headers, body) in ERROR_STATUSES.items():
        response: dict[str, Any] = {
            "description": description,
            "content": {"application/json": {"schema": component_ref(body)}},
        }
        if headers:
            response["headers"] = {name: {"$ref": f"#/components/headers/{name}"} for name in headers}
        responses[error_response_name(status)] = response
    return responses
