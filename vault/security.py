"""API keys (Bearer tokens) and CORS."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable

from aiohttp import web

from vault.errors import ApiError
from vault.handlers.console import CONSOLE_PATH

OPEN_PATHS = frozenset({"/health"})
ADMIN_PREFIX = "/storage/admin/"
CORS_EXPOSED = (
    "ETag, Link, Location, Retry-After, X-Request-ID, Content-Range, Content-Disposition, Vault-Commit-LSN,"
    " Vault-Event-Cursor"
)
CORS_ALLOWED = (
    "Authorization, Content-Type, Idempotency-Key, If-Match, If-None-Match, Range, X-Request-ID, Vault-Min-LSN"
)
CORS_METHODS = "GET, POST, PUT, PATCH, DELETE, OPTIONS"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Unauthorized(ApiError):
    status = 401
    code = "unauthorized"


class Forbidden(ApiError):
    status = 403
    code = "forbidden"


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


def auth_middleware(keys: tuple[str, ...], admin_keys: tuple[str, ...] = ()):
    """`keys` (when set) for every route but /health; `admin_keys` (when set) alone for /storage/admin/*."""

    @web.middleware
    async def require_key(request: web.Request, handler: Handler) -> web.StreamResponse:
        if is_open(request.path) or request.method == "OPTIONS":
            return await handler(request)
        admin = bool(admin_keys) and request.path.startswith(ADMIN_PREFIX)
        needed = admin_keys if admin else keys
        if not needed:
            return await handler(request)
        offered = _offered_key(request)
        if offered is not None and key_matches(offered, needed):
            return await handler(request)
        if admin and offered is not None and (not keys or key_matches(offered, keys)):
            raise Forbidden("this key may not use the administration routes (VAULT_ADMIN_API_KEYS)")
        raise Unauthorized(
            "a valid API key is required: Authorization: Bearer <key>",
            headers={"WWW-Authenticate": 'Bearer realm="vault"'},
        )

    return require_key


def is_open(path: str) -> bool:
    """Served without a key: /health, and the console's page and assets, which hold no stored data
    (a browser cannot send a Bearer header when it opens a page; the console's own calls send it)."""
    return path in OPEN_PATHS or path == CONSOLE_PATH or path.startswith(CONSOLE_PATH + "/")


def _offered_key(request: web.Request) -> str | None:
    scheme, _, offered = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not offered.strip():
        return None
    return offered.strip()


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
