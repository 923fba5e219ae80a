"""Errors that reach the client, and the one table that maps them to HTTP.

Every error body is `{"detail": "...", "error": "code"}`; a 422 adds
`errors: [{"loc": [...], "msg": "..."}]` naming every bad field.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from attrs import frozen

from vault import jsonutil
from vault.store import errors as store_errors

# Why a request was answered with a server-side error (5xx): the access log line says it.
ERROR_REASON = web.ResponseKey("error_reason", str)


def error_response(
    status: int, code: str, detail: str, *, headers: dict[str, str] | None = None, **extra: Any
) -> web.Response:
    body = {"detail": detail, "error": code, **extra}
    response = web.Response(status=status, body=jsonutil.dumps(body), content_type="application/json", headers=headers)
    if status >= 500:
        # A 503 or 507 is the service's own state; the log says which (busy, read_only, disk_full...).
        response[ERROR_REASON] = f"{code}: {detail}"
    return response


class ApiError(Exception):
    """An error raised by a handler, already shaped for the client."""

    status = 400
    code = "bad_request"

    def __init__(self, detail: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = headers or {}


class InvalidBody(ApiError):
    status = 400
    code = "invalid_json"


class UnsupportedMediaType(ApiError):
    status = 415
    code = "unsupported_media_type"


class RequestValidationError(ApiError):
    status = 422
    code = "validation_error"

    def __init__(self, field_errors: list[dict[str, Any]]) -> None:
        names = ", ".join(".".join(str(step) for step in error["loc"]) for error in field_errors)
        super().__init__(f"invalid request: {names}")
        self.field_errors = field_errors


def invalid(loc: list[Any], msg: str) -> RequestValidationError:
    return RequestValidationError([{"loc": loc, "msg": msg}])


@frozen
class Mapped:
    status: int
    code: str
    headers: dict[str, str] | None = None


# Store errors, by class; the first class in an error's MRO that is here wins.
STORE_ERRORS: dict[type[Exception], Mapped] = {
    store_errors.NotFound: Mapped(404, "not_found"),
    store_errors.PreconditionFailed: Mapped(412, "precondition_failed"),
    store_errors.InvalidReference: Mapped(422, "validation_error"),
    store_errors.IdempotencyMismatch: Mapped(422, "idempotency_key_reused"),
    store_errors.BackupRunning: Mapped(409, "backup_running"),
    store_errors.AlreadyExists: Mapped(409, "already_exists"),
    store_errors.StoreBusy: Mapped(503, "busy", {"Retry-After": "1"}),
    store_errors.StoreClosed: Mapped(503, "shutting_down", {"Retry-After": "1"}),
    store_errors.StoreReadOnly: Mapped(503, "read_only", {"Retry-After": "30"}),
    store_errors.StoreUnavailable: Mapped(503, "unavailable", {"Retry-After": "5"}),
    store_errors.DiskFull: Mapped(507, "disk_full"),
    store_errors.EventsPruned: Mapped(410, "gone"),
    store_errors.SchemaTooNew: Mapped(503, "unavailable"),
    store_errors.ContentTooLarge: Mapped(413, "payload_too_large"),
    store_errors.DocumentTooLarge: Mapped(413, "document_too_large"),
    store_errors.BlobMissing: Mapped(500, "content_missing"),
    store_errors.CorruptDocument: Mapped(500, "corrupt_document"),
}


def map_store_error(error: store_errors.StoreError) -> Mapped:
    for cls in type(error).__mro__:
        if cls in STORE_ERRORS:
            return STORE_ERRORS[cls]
    return Mapped(500, "internal_error")
