"""What every handler needs: bodies, query strings, responses, links."""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import Callable, Iterable
from operator import attrgetter
from typing import Any, TypeVar

from aiohttp import web
from cattrs.errors import BaseValidationError
from vault.store.interface import IdempotencyClaim, Store

from vault import clock, jsonutil
from vault.appkeys import STORE
from vault.converter import MAX_NAME_LENGTH, FieldRule, converter, field_errors, structure_name, unstructure
from vault.errors import ApiError, InvalidBody, RequestValidationError, UnsupportedMediaType, invalid
from vault.inputs import MAX_IDEMPOTENCY_KEY
from vault.models import Page
from vault.queries import DEFAULT_LIMIT, MAX_LIMIT

T = TypeVar("T")

_WHOLE_NUMBER = re.compile(r"-?[0-9]+")


def store_of(request: web.Request) -> Store:
    return request.app[STORE]


# -- bodies


def require_json(request: web.Request) -> None:
    mimetype = request.content_type
    if mimetype != "application/json" and not (mimetype.startswith("application/") and mimetype.endswith("+json")):
        raise UnsupportedMediaType(f"Content-Type must be application/json, not {mimetype or 'missing'}")


async def read_json(request: web.Request) -> tuple[Any, bytes]:
    """The parsed body and its raw bytes (for idempotency fingerprints)."""
    require_json(request)
    try:
        raw = await request.read()
    except web.RequestPayloadError:
        # e.g. a Content-Encoding: gzip body that does not decompress.
        raise ApiError("the request body could not be read or decoded") from None
    if not raw.strip():
        raise InvalidBody("the request body is empty; a JSON object is expected")
    try:
        return jsonutil.loads(raw), raw
    except jsonutil.JSONTooDeep as exc:
        raise invalid(["body"], str(exc)) from None
    except jsonutil.InvalidJSON as exc:
        raise InvalidBody(str(exc)) from None


def structure(data: Any, cls: type[T]) -> T:
    try:
        return converter.structure(data, cls)
    except (BaseValidationError, FieldRule) as exc:
        raise RequestValidationError(field_errors(exc)) from None


async def body_as(request: web.Request, cls: type[T]) -> tuple[T, bytes]:
    data, raw = await read_json(request)
    return structure(data, cls), raw


def idempotency_claim(request: web.Request, raw_body: bytes) -> IdempotencyClaim | None:
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    if not 1 <= len(key) <= MAX_IDEMPOTENCY_KEY:
        raise invalid(["header", "Idempotency-Key"], f"must be 1 to {MAX_IDEMPOTENCY_KEY} characters")
    if not (key.isascii() and key.isprintable()):
        raise invalid(["header", "Idempotency-Key"], "must be printable ASCII")
    digest = hashlib.sha256()
    for part in (request.method.encode(), request.path.encode(), raw_body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return IdempotencyClaim(key, digest.hexdigest())


def if_match(request: web.Request) -> int | None:
    """The version named by If-Match; None when absent or `*` (any version)."""
    header = request.headers.get("If-Match")
    if header is None or header.strip() == "*":
        return None
    tag = header.strip().removeprefix("W/").strip('"')
    # ASCII only: str.isdigit() also accepts digits like "²" that int() rejects.
    if not (tag.isascii() and tag.isdigit()) or len(tag) > 18:
        raise invalid(["header", "If-Match"], 'must be a version ETag such as "3"')
    return int(tag)


# -- query strings


class QueryReader:
    """Reads query parameters, collecting every problem for one 422.

    As with body fields, a parameter the route does not read, or one given twice,
    is a problem too (no route takes a parameter more than once).
    """

    def __init__(self, request: web.Request) -> None:
        self._query = request.query
        self._read: set[str] = set()
        self.errors: list[dict[str, Any]] = []

    def _fail(self, name: str, msg: str) -> None:
        self.errors.append({"loc": ["query", name], "msg": msg})

    def _get(self, name: str) -> str | None:
        self._read.add(name)
        return self._query.get(name)

    def _check_names(self) -> None:
        for name in dict.fromkeys(self._query):
            if name not in self._read:
                self._fail(name, "is not a parameter here")
            elif len(self._query.getall(name)) > 1:
                self._fail(name, "is given more than once")

    def text(self, name: str, *, required: bool = False) -> str | None:
        value = self._get(name)
        if value is None or value == "":
            if required:
                self._fail(name, "is required")
            return None
        try:
            return structure_name(value)
        except FieldRule as exc:
            self._fail(name, str(exc))
            return None

    def namespace(self, name: str) -> str | None:
        """A checkpoint namespace: absent is None, and an empty value is the root namespace ""."""
        value = self._get(name)
        if value is not None and len(value) > MAX_NAME_LENGTH:
            self._fail(name, f"must be at most {MAX_NAME_LENGTH} characters")
            return None
        return value

    def json_object(self, name: str) -> dict[str, Any] | None:
        """A JSON object given as text (`{"source":"loop"}`), or None when absent or empty."""
        value = self._get(name)
        if value is None or value == "":
            return None
        try:
            parsed = jsonutil.loads(value)
        except ValueError:
            parsed = None
        if not isinstance(parsed, dict):
            self._fail(name, "must be a JSON object")
            return None
        return parsed

    def free_text(self, name: str, max_chars: int) -> str | None:
        """Required text of any characters (a search's words), not blank, at most `max_chars` long."""
        value = self._get(name)
        if value is None or not value.strip():
            self._fail(name, "is required and must not be empty")
            return None
        if len(value) > max_chars:
            self._fail(name, f"must be at most {max_chars} characters")
            return None
        return value

    def integer(self, name: str, default: int | None, low: int, high: int) -> int | None:
        raw = self._get(name)
        if raw is None or raw == "":
            return default
        text = raw.strip()
        # ASCII digits only: str.isdigit() takes "²", which int() rejects, and lstrip("-") let "--5" through.
        if not _WHOLE_NUMBER.fullmatch(text) or len(text) > 19:
            self._fail(name, f"must be a whole number from {low} to {high}")
            return default
        value = int(text)
        if not low <= value <= high:
            self._fail(name, f"must be from {low} to {high}")
            return default
        return value

    def limit(self) -> int:
        return self.integer("limit", DEFAULT_LIMIT, 1, MAX_LIMIT) or DEFAULT_LIMIT

    def offset(self) -> int:
        return self.integer("offset", 0, 0, 2**62) or 0

    def choice(self, name: str, options: Iterable[str]) -> str | None:
        value = self._get(name)
        if value is None or value == "":
            return None
        allowed = tuple(options)
        if value not in allowed:
            self._fail(name, f"must be one of {', '.join(allowed)}")
            return None
        return value

    def listed(self, name: str, options: Iterable[str]) -> list[str] | None:
        """A comma-separated list of names, each one of `options`; None if not given."""
        value = self._get(name)
        if value is None or value == "":
            return None
        allowed = tuple(options)
        given = [part.strip() for part in value.split(",")]
        unknown = [part for part in given if part not in allowed]
        if unknown:
            self._fail(name, f"has unknown {', '.join(map(repr, unknown))}: each must be one of {', '.join(allowed)}")
            return None
        return list(dict.fromkeys(given))

    def checked(self, name: str, valid: Callable[[str], bool], rule: str) -> str | None:
        """A value `valid` accepts; None if not given."""
        value = self._get(name)
        if value is None or value == "":
            return None
        if not valid(value):
            self._fail(name, rule)
            return None
        return value

    def timestamp(self, name: str) -> str | None:
        value = self._get(name)
        if value is None or value == "":
            return None
        try:
            return clock.normalize_time(value)
        except ValueError as exc:
            self._fail(name, str(exc))
            return None

    def done(self) -> None:
        self._check_names()
        if self.errors:
            raise RequestValidationError(self.errors)


# -- responses


def json_response(value: Any, *, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        status=status, body=jsonutil.dumps(unstructure(value)), content_type="application/json", headers=headers
    )


def created(value: Any, location: str) -> web.Response:
    return json_response(value, status=201, headers={"Location": location})


def created_rendered(body: str, location: str) -> web.Response:
    """201 with a body already in JSON (vault.models.RenderedMessage), sent as it is."""
    return web.Response(status=201, body=body.encode(), content_type="application/json", headers={"Location": location})


def deleted(**identity: Any) -> web.Response:
    return json_response({"status": "deleted", **identity})


def _link_headers(request: web.Request, page: Page, next_params: dict[str, Any] | None) -> dict[str, str]:
    """`Link: <...>; rel="next"` when another page follows: this request's URL with the cursor moved on."""
    if not page.has_more or next_params is None:
        return {}
    following = request.rel_url.update_query({key: str(value) for key, value in next_params.items()})
    return {"Link": f'<{following}>; rel="next"'}


async def page_response(request: web.Request, page: Page, next_params: dict[str, Any] | None) -> web.Response:
    """A plain JSON array, with a Link header when another page follows."""
    body = await encode_page(page)
    return web.Response(body=body, content_type="application/json", headers=_link_headers(request, page, next_params))


async def encode_page(page: Page) -> bytes:
    """The page's items as a JSON array. A small page is one encode on the loop, as every page
    was; a large one is encoded on a worker thread, one item at a time, so the loop answers
    other requests between two items."""
    if page.size <= jsonutil.OFF_LOOP_BYTES:
        return jsonutil.dumps(unstructure(page.items))
    return await asyncio.to_thread(_encode_items, page.items)


def _encode_items(items: Iterable[Any]) -> bytes:
    return b"[" + b",".join(jsonutil.dumps(unstructure(item)) for item in items) + b"]"


_BODY = attrgetter("body")


def rendered_page_response(request: web.Request, page: Page, next_params: dict[str, Any] | None) -> web.Response:
    """The same for items kept as JSON text: spliced into the array, never decoded."""
    body = "[" + ",".join(map(_BODY, page.items)) + "]"
    return web.Response(
        body=body.encode(), content_type="application/json", headers=_link_headers(request, page, next_params)
    )


def offset_next(page: Page, limit: int, offset: int) -> dict[str, Any]:
    # A page cut short by its byte budget holds fewer than `limit` items: the next starts after them.
    return {"offset": offset + len(page.items), "limit": limit}
