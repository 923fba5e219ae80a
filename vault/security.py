"""API keys (Bearer tokens) and CORS."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable

from aiohttp import web

from vault.errors import ApiError

OPEN_PATHS = frozenset({"/health"})
CORS_EXPOSED = "ETag, Link, Location, Retry-After, X-Request-ID, Content-Range, Content-Disposition"
CORS_ALLOWED = "Authorization, Content-Type, Idempotency-Key, If-Match, If-None-Match, Range, X-Request-ID"
CORS_METHODS = "GET, POST, PUT, PATCH, DELETE, OPTIONS"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Unauthorized(ApiError):
    status = 401
    code = "unauthorized"


def key_matches(offered: str, keys: tuple[str, ...]) -> bool:
    """Compare against every key in constant time; no early exit on a match.

    A header's bytes that are not UTF-8 arrive as lone surrogates; surrogateescape
    turns them back into those bytes, which match no key (a strict encode raised).
    """
    found = False
    raw = offered.encode(errors="surrogateescape")
    for key in keys:
        found |= hmac.compare_digest(raw, key.encode())
    return found


def auth_middleware(keys: tuple[str, ...]):
    @web.middleware
    async def require_key(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path in OPEN_PATHS or request.method == "OPTIONS":
            return await handler(request)
        scheme, _, offered = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not offered or not key_matches(offered.strip(), keys):
            raise Unauthorized(
                "a valid API key is required: Authorization: Bearer <key>",
                headers={"WWW-Authenticate": 'Bearer realm="vault"'},
            )
        return await handler(request)

    return require_key


def cors_middleware(origins: tuple[str, ...]):
    allow_any = "*" in origins

    @web.middleware
    async def cors(request: web.Request, handler: Handler) -> web.StreamResponse:
        origin = request.headers.get("Origin")
        allowed = origin is not None and (allow_any or origin in origins)
        preflight = request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers
        if preflight and allowed:
            response: web.StreamResponse = web.Response(status=204)
            response.headers["Access-Control-Allow-Methods"] = CORS_METHODS
            response.headers["Access-Control-Allow-Headers"] = CORS_ALLOWED
            response.headers["Access-Control-Max-Age"] = "600"
        else:
            response = await handler(request)
        if allowed:
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Access-Control-Expose-Headers"] = CORS_EXPOSED
            response.headers.add("Vary", "Origin")
        return response

    return cors
