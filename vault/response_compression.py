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
from typing import Any

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


def _add_vary(response: web.StreamResponse) -> None:
    vary = response.headers.get("Vary", "")
    if "accept-encoding" not in vary.lower():
        response.headers["Vary"] = f"{vary}, Accept-Encoding" if vary else "Accept-Encoding"


async def _zstd(body: bytes) -> bytes:
    if len(body) <= OFF_LOOP_BYTES:
        return zstd_codec.compress(body)
    return await asyncio.to_thread(zstd_codec.compress, body)


async def compress(request: web.Request, response: web.StreamResponse) -> None:
    """Compress `response` in place when the request allows it and it is worth it."""
    # Only whole bodies: a StreamResponse (a download) is written as it is read.
    if type(response) is not web.Response or response.status in NO_BODY_STATUSES:
        return
    body = response.body
    if not isinstance(body, bytes) or not _is_text(response.content_type):
        return
    _add_vary(response)
    if len(body) < MIN_BYTES or "Content-Encoding" in response.headers:
        return
    coding = preferred_coding(request.headers.get("Accept-Encoding"))
    if coding == ZSTD:
        response.body = await _zstd(body)
        response.headers["Content-Encoding"] = ZSTD
    elif coding == GZIP:
        # aiohttp's own gzip: it compresses the body when the answer starts.
        response.enable_compression(ContentCoding.gzip)


@web.middleware
async def response_compression_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    response = await handler(request)
    await compress(request, response)
    return response
