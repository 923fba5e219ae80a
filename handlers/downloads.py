"""Artifact downloads: the stored bytes, streamed, with ranges and validators.

The ETag is the content's sha256, so it never changes for an artifact and is
the same for every artifact with the same bytes. A client-chosen name and
content type go out only in forms that cannot smuggle anything: the type is
checked (else application/octet-stream), the name is a quoted fallback plus
an RFC 8187 `filename*`, and the body is always an attachment, never sniffed.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from urllib.parse import quote

from aiohttp import web
from attrs import frozen
from vault.handlers.uploads import is_media_type
from vault.store import errors as store_errors
from vault.store.interface import Store

from vault.errors import ERROR_REASON, ApiError
from vault.models import Artifact

log = logging.getLogger(__name__)

OCTET_STREAM = "application/octet-stream"
_SINGLE_RANGE = re.compile(r"bytes\s*=\s*([0-9]*)\s*-\s*([0-9]*)", re.IGNORECASE)
# Characters that stay as they are in the quoted fallback filename.
_PLAIN = re.compile(r"[A-Za-z0-9 !#$&'()+,.=@\[\]^_`{}~-]")


class NoStoredContent(ApiError):
    status = 404
    code = "no_content"


class Unsatisfiable(ApiError):
    status = 416
    code = "range_not_satisfiable"


class RangeNotSatisfiable(ValueError):
    """No byte of the requested range exists."""


# Past any size a file can have; a longer number is only compared, never converted
# (int() refuses over 4,300 digits, and a header can carry thousands).
_POSITION_DIGITS = 18
_BEYOND_ANY_SIZE = 10**_POSITION_DIGITS


def _position(digits: str) -> int:
    """A byte position as sent; any number too long to be a real offset counts as past every end."""
    digits = digits.lstrip("0") or "0"
    return int(digits) if len(digits) <= _POSITION_DIGITS else _BEYOND_ANY_SIZE


@frozen
class ByteRange:
    start: int
    end: int  # inclusive, as in Content-Range

    @property
    def length(self) -> int:
        return self.end - self.start + 1


def parse_range(header: str, size: int) -> ByteRange | None:
    """The one byte range a `Range` header asks for; None to send everything.

    Other units, several ranges and malformed ranges are ignored (RFC 9110
    14.2 lets a server do so), so the answer is the whole content.
    RangeNotSatisfiable when the range starts past the end.
    """
    match = _SINGLE_RANGE.fullmatch(header.strip())
    if match is None:
        return None
    first, last = match.groups()
    if not first:
        if not last:
            return None
        suffix = _position(last)
        if suffix == 0 or size == 0:
            raise RangeNotSatisfiable
        return ByteRange(max(size - suffix, 0), size - 1)
    start = _position(first)
    if last and _position(last) < start:
        return None
    if start >= size:
        raise RangeNotSatisfiable
    return ByteRange(start, min(_position(last), size - 1) if last else size - 1)


def _entity_tags(header: str) -> list[str]:
    return [tag.strip().removeprefix("W/") for tag in header.split(",") if tag.strip()]


def none_match(header: str | None, etag: str) -> bool:
    """If-None-Match holds for `etag` (weak comparison, `*` matches anything)."""
    if header is None:
        return False
    tags = _entity_tags(header)
    return "*" in tags or etag in tags


def content_disposition(name: str) -> str:
    """`attachment` with an ASCII fallback and the exact name in UTF-8 (RFC 6266, RFC 8187)."""
    fallback = "".join(char if _PLAIN.fullmatch(char) else "_" for char in name).strip() or "download"
    exact = quote(name.encode("utf-8", "replace"), safe="")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{exact}"


def _headers(artifact: Artifact, etag: str) -> dict[str, str]:
    content_type = artifact.content_type if artifact.content_type and is_media_type(artifact.content_type) else None
    return {
        "Content-Type": content_type or OCTET_STREAM,
        "ETag": etag,
        "Accept-Ranges": "bytes",
        "Content-Disposition": content_disposition(artifact.name),
        "X-Content-Type-Options": "nosniff",
        # Even if opened in a browser tab, the bytes run nothing.
        "Content-Security-Policy": "sandbox",
        "Cache-Control": "private, no-cache",
    }


async def send_content(request: web.Request, store: Store, artifact: Artifact) -> web.StreamResponse:
    if artifact.sha256 is None:
        raise NoStoredContent(f"artifact {artifact.id!r} is a reference to content stored elsewhere (see its path)")
    etag = f'"{artifact.sha256}"'
    headers = _headers(artifact, etag)
    if none_match(request.headers.get("If-None-Match"), etag):
        return web.Response(status=304, headers={name: headers[name] for name in ("ETag", "Cache-Control")})
    content = await store.artifact_content(artifact)
    size = content.size
    wanted = None
    range_header = request.headers.get("Range")
    if_range = request.headers.get("If-Range")
    # A Range is honoured only for the representation the client holds (a date never matches).
    if range_header is not None and (if_range is None or if_range.strip() == etag):
        try:
            wanted = parse_range(range_header, size)
        except RangeNotSatisfiable:
            raise Unsatisfiable(
                f"the range starts past the end of the content ({size} bytes)",
                headers={"Content-Range": f"bytes */{size}"},
            ) from None
    response = web.StreamResponse(status=200 if wanted is None else 206, headers=headers)
    if wanted is None:
        wanted = ByteRange(0, size - 1)
    else:
        response.headers["Content-Range"] = f"bytes {wanted.start}-{wanted.end}/{size}"
    response.content_length = wanted.length
    if request.method == "HEAD":
        await _send(request, response, None, artifact.id)
        return response
    # Opened before the headers go out: a blob gone by now is still an error status, not a cut body.
    async with content.range(wanted.start, wanted.end + 1) as chunks:
        await _send(request, response, chunks, artifact.id)
    return response


async def _send(
    request: web.Request, response: web.StreamResponse, chunks: AsyncIterator[bytes] | None, artifact_id: str
) -> None:
    await response.prepare(request)
    try:
        if chunks is not None:
            async for chunk in chunks:
                # write() waits while the client is slower than the disk: memory stays at a chunk or two.
                await response.write(chunk)
        await response.write_eof()
    except ConnectionResetError:
        pass  # the client went away; there is no one left to answer
    except Exception as exc:
        _cut_off(request, response, artifact_id, exc)


def _cut_off(request: web.Request, response: web.StreamResponse, artifact_id: str, error: Exception) -> None:
    """End a download whose body can no longer be sent in full.

    The status and Content-Length are out: an error answer now would be read as
    file bytes. Closing the connection leaves the client a body shorter than
    announced, which every HTTP client reports as a failed download.
    """
    log.warning(
        "download of %s cut off: %s; the connection was closed",
        artifact_id,
        error,
        exc_info=not isinstance(error, OSError | store_errors.StoreError),
    )
    response[ERROR_REASON] = f"cut_off: {type(error).__name__} after the answer started"
    if request.transport is not None:
        request.transport.abort()
