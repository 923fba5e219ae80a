"""Answers compressed on the wire: JSON and text of 1 KiB or more, in zstd or gzip.

The coding is the best one the request's Accept-Encoding allows (zstd
first, see vault.accept_encoding); below MIN_BYTES, or when neither is
allowed, the body goes as it is. Every JSON or text answer says
`Vary: Accept-Encoding`, compressed or not, since the same request with
another Accept-Encoding (or a larger answer) could have come back otherwise.

Artifact content is a StreamResponse and is never touched: its bytes go as
stored, so Range, Content-Length and the sha256 ETag stay exact.
"""

from __future__ import annotations

import asyncio

from aiohttp import web
from aiohttp.web_response import ContentCoding

from vault import zstd_codec
from vault.accept_encoding import GZIP, ZSTD, preferred_coding

# Below this, compression saves too little to pay for itself (the contract's threshold).
MIN_BYTES = 1024
# zstd runs on the loop up to this size (well under a millisecond); larger bodies on a thread.
# (aiohttp moves gzip to its executor itself.)
OFF_LOOP_BYTES = 256 * 1024
NO_BODY_STATUSES = frozenset({204, 304})


def _is_text(content_type: str) -> bool:
    return content_type.startswith("text/") or content_type == "application/json" or content_type.endswith("+json")


def _media_type(response: web.Response) -> str:
    # The Content-Type header's type itself: aiohttp's `content_type` parses the whole
    # header, parameters and all, on every new answer; no more than this is needed here.
    return response.headers.get("Content-Type", "").partition(";")[0].strip().lower()


def _add_vary(response: web.StreamResponse) -> None:
    vary = response.headers.get("Vary", "")
    if "accept-encoding" not in vary.lower():
        response.headers["Vary"] = f"{vary}, Accept-Encoding" if vary else "Accept-Encoding"


def coding_for(request: web.Request, response: web.StreamResponse) -> str | None:
    """The coding to compress `response` in (the request allows it, and it is worth it), or None.

    A text answer says `Vary: Accept-Encoding` from here on, whatever the coding.
    """
    # Only whole bodies: a StreamResponse (a download) is written as it is read.
    if type(response) is not web.Response or response.status in NO_BODY_STATUSES:
        return None
    body = response.body
    if not isinstance(body, bytes) or not _is_text(_media_type(response)):
        return None
    _add_vary(response)
    if len(body) < MIN_BYTES or "Content-Encoding" in response.headers:
        return None
    coding = preferred_coding(request.headers.get("Accept-Encoding"))
    return coding if coding in (ZSTD, GZIP) else None


async def compress(response: web.Response, coding: str) -> None:
    """Compress `response` in place in `coding` (one coding_for chose)."""
    if coding == ZSTD:
        body = response.body
        if len(body) <= OFF_LOOP_BYTES:
            response.body = zstd_codec.compress(body)
        else:
            response.body = await asyncio.to_thread(zstd_codec.compress, body)
        response.headers["Content-Encoding"] = ZSTD
    else:
        # aiohttp's own gzip: it compresses the body when the answer starts.
        response.enable_compression(ContentCoding.gzip)
