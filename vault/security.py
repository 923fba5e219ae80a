"""API keys (Bearer tokens) and CORS."""

from __future__ import annotations

import hmac

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


class KeyCheck:
    """`keys` (when set) for every route but /health; `admin_keys` (when set) alone for /storage/admin/*."""

    def __init__(self, keys: tuple[str, ...], admin_keys: tuple[str, ...] = ()) -> None:
        self._keys = keys
        self._admin_keys = admin_keys

    def check(self, request: web.Request) -> None:
        """Return if the request may go on; raise Unauthorized or Forbidden otherwise."""
        if is_open(request.path) or request.method == "OPTIONS":
            return
        keys, admin_keys = self._keys, self._admin_keys
        admin = bool(admin_keys) and request.path.startswith(ADMIN_PREFIX)
        needed = admin_keys if admin else keys
        if not needed:
            return
        offered = _offered_key(request)
        if offered is not None and key_matches(offered, needed):
            return
        if admin and offered is not None and (not keys or key_matches(offered, keys)):
            raise Forbidden("this key may not use the administration routes (VAULT_ADMIN_API_KEYS)")
        raise Unauthorized(
            "a valid API key is required: Authorization: Bearer <key>",
            headers={"WWW-Authenticate": 'Bearer realm="vault"'},
        )


def is_open(path: str) -> bool:
    """Served without a key: /health, and the console's page and assets, which hold no stored data
    (a browser cannot send a Bearer header when it opens a page; the console's own calls send it)."""
    return path in OPEN_PATHS or path == CONSOLE_PATH or path.startswith(CONSOLE_PATH + "/")


def _offered_key(request: web.Request) -> str | None:
    scheme, _, offered = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not offered.strip():
        return None
    return offered.strip()


class Cors:
    """CORS for `origins` ("*": any): preflights answered, the other answers marked as readable."""

    def __init__(self, origins: tuple[str, ...]) -> None:
        self._origins = origins
        self._allow_any = "*" in origins

    def allowed_origin(self, request: web.Request) -> str | None:
        """The request's Origin if it is allowed, else None."""
        origin = request.headers.get("Origin")
        if origin is not None and (self._allow_any or origin in self._origins):
            return origin
        return None

    @staticmethod
    def preflight(request: web.Request) -> web.Response | None:
        """The answer to a preflight (from an allowed origin), or None for any other request."""
        if request.method != "OPTIONS" or "Access-Control-Request-Method" not in request.headers:
            return None
        response = web.Response(status=204)
        response.headers["Access-Control-Allow-Methods"] = CORS_METHODS
        response.headers["Access-Control-Allow-Headers"] = CORS_ALLOWED
        response.headers["Access-Control-Max-Age"] = "600"
        return response

    @staticmethod
    def expose(response: web.StreamResponse, origin: str) -> None:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Expose-Headers"] = CORS_EXPOSED
        response.headers.add("Vary", "Origin")
