"""What a call can fail with: one exception class per kind of answer.

Every error the service sends is `{"detail", "error", "errors"?}`; each class
below keeps those fields and the HTTP status, so callers can catch the kind
they handle (`except NotFound`) and still read the server's own words.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Mapping
from typing import Any

from multidict import CIMultiDict


class VaultError(Exception):
    """Base of every error the client raises.

    `status` is the HTTP status (None when no answer arrived), `detail` the
    server's human sentence, `code` its machine code (`error` in the body),
    `errors` the per-field list of a 422, `body` the whole decoded body.
    """

    default_code = "error"

    def __init__(
        self,
        detail: str,
        *,
        status: int | None = None,
        code: str | None = None,
        errors: list[dict[str, Any]] | None = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {detail}" if status is not None else detail)
        self.detail = detail
        self.status = status
        self.code = code or self.default_code
        self.errors = errors or []
        self.body = body
        self.headers = CIMultiDict(headers or {})


class BadRequest(VaultError):
    """400: the body was not valid JSON, or the request was otherwise malformed."""

    default_code = "bad_request"


class Unauthorized(VaultError):
    """401: no API key, or one the service does not know."""

    default_code = "unauthorized"


class Forbidden(VaultError):
    default_code = "forbidden"


class NotFound(VaultError):
    """404: the session, message, artifact, metric or cache key does not exist."""

    default_code = "not_found"


class MethodNotAllowed(VaultError):
    default_code = "method_not_allowed"


class Conflict(VaultError):
    """409: a backup is already running, or (AlreadyExists) the key a create named is taken."""

    default_code = "conflict"


class AlreadyExists(Conflict):
    default_code = "already_exists"


class Gone(VaultError):
    """410: the change feed no longer keeps the events after this cursor; `oldest_id` is the oldest kept."""

    default_code = "gone"

    def __init__(self, detail: str, **fields: Any) -> None:
        super().__init__(detail, **fields)
        body = fields.get("body")
        self.oldest_id = body.get("oldest_id") if isinstance(body, dict) else None


class PreconditionFailed(VaultError):
    """412: If-Match named a version that is not the current one.

    `current` is the state as it is now (a vault.models.State, or a ScopedState
    for an app's or user's state), so a caller
    can merge and try again without another read.
    """

    default_code = "precondition_failed"

    def __init__(self, detail: str, *, current: Any = None, **fields: Any) -> None:
        super().__init__(detail, **fields)
        self.current = current


class PayloadTooLarge(VaultError):
    """413: the body is over the service's size cap; nothing was stored."""

    default_code = "payload_too_large"


class UnsupportedMediaType(VaultError):
    default_code = "unsupported_media_type"


class RangeNotSatisfiable(VaultError):
    default_code = "range_not_satisfiable"


class ValidationError(VaultError):
    """422: the body or query had bad fields; `errors` names each one (`loc`, `msg`)."""

    default_code = "validation_error"


class IdempotencyKeyReused(ValidationError):
    """422: this Idempotency-Key was already used for a different request."""

    default_code = "idempotency_key_reused"


class ServerError(VaultError):
    """500 or another 5xx with no more specific class: a fault in the service."""

    default_code = "internal_error"


class Busy(VaultError):
    """503: the service cannot take the request now and said so (queue full,
    shutting down, read-only, database unavailable, not ready); nothing was
    written. `retry_after` is the wait it asked for, in seconds, if it named one.
    """

    default_code = "busy"

    def __init__(self, detail: str, *, retry_after: float | None = None, **fields: Any) -> None:
        super().__init__(detail, **fields)
        self.retry_after = retry_after


class InsufficientStorage(VaultError):
    """507: the service's disk is full; nothing was written."""

    default_code = "disk_full"


class ConnectionFailed(VaultError):
    """No answer arrived: the connection failed, dropped, or timed out.

    `maybe_applied` is False when the request certainly never reached the
    service (it could not connect), True when it was sent and its outcome is
    unknown: a write may have committed even though no answer came back.
    `idempotency_key` is the key a POST was sent with: sending the same call
    again with `idempotency_key=` set to it cannot write twice.
    """

    default_code = "connection_failed"

    def __init__(self, detail: str, *, maybe_applied: bool, idempotency_key: str | None = None, **fields: Any) -> None:
        super().__init__(detail, **fields)
        self.maybe_applied = maybe_applied
        self.idempotency_key = idempotency_key


class UnexpectedResponse(VaultError):
    """A 2xx answer whose body is not the shape this client expects."""

    default_code = "unexpected_response"


# By machine code first (the server's own classification), then by status.
BY_CODE: dict[str, type[VaultError]] = {
    "idempotency_key_reused": IdempotencyKeyReused,
    "already_exists": AlreadyExists,
}
BY_STATUS: dict[int, type[VaultError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    405: MethodNotAllowed,
    409: Conflict,
    410: Gone,
    412: PreconditionFailed,
    413: PayloadTooLarge,
    415: UnsupportedMediaType,
    416: RangeNotSatisfiable,
    422: ValidationError,
    503: Busy,
    507: InsufficientStorage,
}


def error_class(status: int, code: str | None) -> type[VaultError]:
    if code in BY_CODE:
        return BY_CODE[code]
    if status in BY_STATUS:
        return BY_STATUS[status]
    return ServerError if status >= 500 else VaultError


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header: delta-seconds or an HTTP date."""
    if value is None:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
