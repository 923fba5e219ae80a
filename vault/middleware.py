"""The middleware: every request's steps around its handler; every failure leaves as the contract's JSON error body."""

from __future__ import annotations

import asyncio
import itertools
import logging
import secrets
import time
from typing import Any

from aiohttp import web

from vault import logs
from vault.appkeys import STOPPING, STORE
from vault.config import Config
from vault.converter import unstructure
from vault.errors import (
    ERROR_REASON,
    ApiError,
    RequestValidationError,
    error_response,
    map_store_error,
)
from vault.read_positions import answer_with_positions, demanded_lsn
from vault.request_decoding import decode_body
from vault.response_compression import coding_for, compress
from vault.security import Cors, KeyCheck
from vault.store import errors as store_errors
from vault.telemetry import Telemetry

log = logging.getLogger(__name__)

HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
}

# Logged (never sent) when no one is left to answer: the code nginx logs for the same.
CLIENT_CLOSED_REQUEST = 499
CLIENT_GONE = "client_gone: the connection closed before the request was answered"
CUT_SHORT = "shutting_down: the service stopped before the request finished"


def error_answer(request: web.Request, exc: Exception) -> web.Response:
    """The contract's JSON error for what a handler (or a step before it) raised.

    Called while `exc` is being handled, so an unexpected one is logged with
    its traceback; `exc` is raised again when it is no error (an
    HTTPException below 400: a redirect, which aiohttp answers itself).
    """
    if isinstance(exc, RequestValidationError):
        return error_response(exc.status, exc.code, exc.detail, errors=exc.field_errors)
    if isinstance(exc, ApiError):
        return error_response(exc.status, exc.code, exc.detail, headers=exc.headers)
    if isinstance(exc, store_errors.PreconditionFailed):
        return error_response(
            412,
            "precondition_failed",
            f"If-Match does not match the current version {exc.current.version}",
            headers={"ETag": f'"{exc.current.version}"'},
            current=unstructure(exc.current),
        )
    if isinstance(exc, store_errors.EventsPruned):
        # The client resumes from `oldest_id`'s predecessor at best: it knows what it missed.
        return error_response(410, "gone", str(exc), oldest_id=exc.oldest)
    if isinstance(exc, store_errors.InvalidReference):
        # A 422 names the bad field, whichever layer found it.
        return error_response(422, "validation_error", str(exc), errors=[{"loc": exc.loc, "msg": str(exc)}])
    if isinstance(exc, store_errors.StoreError):
        mapped = map_store_error(exc)
        if mapped.status >= 500 and mapped.status != 503:
            # The route template, never the client's path: nothing a client sends reaches the log raw.
            log.warning("%s %s: %s", request.method, route_of(request), exc)
        elif mapped.status >= 500:
            log.debug("%s %s: %s", request.method, route_of(request), exc)
        return error_response(mapped.status, mapped.code, str(exc), headers=mapped.headers)
    if isinstance(exc, web.HTTPException):
        if exc.status < 400:
            raise exc
        code = HTTP_CODES.get(exc.status, "http_error")
        headers = {name: value for name, value in exc.headers.items() if name.lower() == "allow"}
        return error_response(exc.status, code, exc.reason, headers=headers)
    if isinstance(exc, ConnectionResetError) and _client_gone(request):
        # Reading the body failed because the client went away: nothing to fix here, no one to answer.
        # (A reset of some other connection, a database's say, is the service's failure, below.)
        response = web.Response(status=CLIENT_CLOSED_REQUEST)
        response[ERROR_REASON] = CLIENT_GONE
        return response
    return _internal_error(request)


def _internal_error(request: web.Request) -> web.Response:
    log.exception("unhandled error in %s %s", request.method, route_of(request))
    return error_response(500, "internal_error", "internal error; the request was logged")


def _client_gone(request: web.Request) -> bool:
    transport = request.transport
    return transport is None or transport.is_closing()


MAX_REQUEST_ID = 128


# Made-up request ids: random per process, then a counter (cheaper than a uuid each).
_ID_PREFIX = secrets.token_hex(8)
_id_counter = itertools.count(1)


def _request_id(request: web.Request) -> str:
    offered = request.headers.get("X-Request-ID", "")
    if 0 < len(offered) <= MAX_REQUEST_ID and offered.isprintable():
        return offered
    return f"{_ID_PREFIX}{next(_id_counter):016x}"


def route_of(request: web.Request) -> str:
    """The route template (`/storage/sessions/{session_id}`): no ids in labels or logs."""
    route = request.match_info.route
    resource = route.resource if route is not None else None
    return resource.canonical if resource is not None else "unmatched"


def service_middleware(config: Config, telemetry: Telemetry):
    """The one middleware: what every request goes through, step by step, outermost first.

    A request id, the request's metrics and its access line; CORS (when
    VAULT_CORS_ORIGINS is set) on every answer, errors too; the answer
    compressed on the wire, error bodies too; every exception as the
    contract's JSON error; the API key (when keys are set); the read position
    demanded (`Vault-Min-LSN`, a 422 if malformed, 404 and 405 first); and
    only then, for an authorized request, its body's Content-Encoding.

    One middleware with the steps as calls, not one middleware per step: each
    middleware is a coroutine every request enters and every resumption of its
    handler passes through again, while a step with nothing to do costs a
    call that returns. The steps live in their own modules.
    """
    keys = KeyCheck(config.api_keys, config.admin_api_keys) if config.api_keys or config.admin_api_keys else None
    cors = Cors(config.cors_origins) if config.cors_origins else None

    @web.middleware
    async def serve(request: web.Request, handler: Any) -> web.StreamResponse:
        request_id = _request_id(request)
        started = time.perf_counter()
        status = 500
        reason = None
        try:
            origin = None if cors is None else cors.allowed_origin(request)
            response = None if origin is None else cors.preflight(request)
            if response is None:
                try:
                    if keys is not None:
                        keys.check(request)
                    min_lsn = demanded_lsn(request) if request.match_info.http_exception is None else 0
                    decode_body(request)
                    if request.app[STORE].tracks_positions:
                        response = await answer_with_positions(request, handler, min_lsn)
                    else:
                        response = await handler(request)
                except Exception as exc:
                    response = error_answer(request, exc)
                coding = coding_for(request, response)
                if coding is not None:
                    await compress(response, coding)
            if origin is not None:
                cors.expose(response, origin)
            status = response.status
            reason = response.get(ERROR_REASON)
            response.headers["X-Request-ID"] = request_id
            return response
        except web.HTTPException as exc:
            # Raised on by error_answer: a redirect, which aiohttp answers itself.
            status = exc.status
            raise
        except asyncio.CancelledError:
            # A stop that outlasts VAULT_SHUTDOWN_TIMEOUT cancels handlers; so may a client
            # going away, where the server is set to cancel (as aiohttp's test server is).
            status = CLIENT_CLOSED_REQUEST
            reason = CUT_SHORT if request.app[STOPPING].is_set() else CLIENT_GONE
            raise
        finally:
            elapsed = time.perf_counter() - started
            route = route_of(request)
            telemetry.observe_request(request.method, route, status, elapsed)
            logs.log_request(request.method, route, status, elapsed, request_id, reason)

    return serve
