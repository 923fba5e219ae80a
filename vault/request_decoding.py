"""Request bodies sent with `Content-Encoding: gzip` or `zstd`, decoded in one place.

aiohttp's parser would inflate gzip itself, ahead of the handler and at the
pace of the socket. The app turns that off (`auto_decompress=False`) and the
middleware's `decode_body` puts a DecodedBody in the request's place instead: it inflates
only when the handler reads, at most STEP_BYTES at a time. So every reader
(JSON bodies through `request.read()`, multipart uploads) counts decoded
bytes against its own limit, and a small body that would inflate to
gigabytes costs no more than the limit it is refused at (413): the rest is
never inflated. What does not decode is a 400; any other coding a 415.

`deflate` is not taken (the contract names gzip and zstd only): 415.
"""

from __future__ import annotations

import asyncio
import zlib
from typing import Any

from aiohttp import StreamReader, web

from vault.errors import ApiError, UnsupportedMediaType
from vault.zstd_codec import ZstdDecompressor, ZstdError

# Decoded bytes per step: a read never holds more than this beyond what it asked for.
STEP_BYTES = 64 * 1024
PLAIN = frozenset({"", "identity"})
UNSUPPORTED = "Content-Encoding must be gzip, zstd or identity (or none)"


class BodyNotDecoded(ApiError):
    status = 400
    code = "bad_request"


class _GzipMembers:
    """gzip, one member after another (RFC 1952 allows several), inflated a bounded piece at a time."""

    name = "gzip"

    def __init__(self) -> None:
        self._inflate = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        self._input = b""
        self._more_output = False
        self.started = False

    def feed(self, data: bytes) -> None:
        self._input += data
        self.started = True

    @property
    def wants_input(self) -> bool:
        return not self._input and not self._more_output

    @property
    def finished(self) -> bool:
        return (self._inflate.eof or not self.started) and not self._input

    def decode(self, max_length: int) -> bytes:
        out = self._inflate.decompress(self._input, max_length)
        self._input = self._inflate.unconsumed_tail
        # A full output may have left output behind with no input left: ask again before feeding.
        self._more_output = len(out) == max_length
        if self._inflate.eof and self._inflate.unused_data:
            self._input = self._inflate.unused_data
            self._inflate = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        return out


class _ZstdFrames:
    """zstd, frame after frame, inflated a bounded piece at a time."""

    name = "zstd"

    def __init__(self) -> None:
        self._inflate = ZstdDecompressor()
        self._input = b""
        self.started = False

    def feed(self, data: bytes) -> None:
        self._input += data
        self.started = True

    @property
    def wants_input(self) -> bool:
        return not self._input and (self._inflate.needs_input or self._inflate.eof)

    @property
    def finished(self) -> bool:
        return (self._inflate.eof or not self.started) and not self._input

    def decode(self, max_length: int) -> bytes:
        if self._inflate.eof:
            # The input left over after a frame is the next frame.
            self._inflate = ZstdDecompressor()
        data, self._input = self._input, b""
        out = self._inflate.decompress(data, max_length)
        if self._inflate.eof:
            self._input = self._inflate.unused_data
        return out


DECODERS = {"gzip": _GzipMembers, "x-gzip": _GzipMembers, "zstd": _ZstdFrames}
DECODE_ERRORS = (zlib.error, ZstdError, EOFError)


class _NoConnection:
    """StreamReader pauses and resumes its protocol by its fill level; a DecodedBody fills
    only when read, so there is nothing to pause (the raw body keeps the connection's own)."""

    connected = True

    def pause_reading(self) -> None:
        pass

    def resume_reading(self, resume_parser: bool = True) -> None:
        pass


class DecodedBody(StreamReader):
    """The decoded body, as the StreamReader that every aiohttp reader takes.

    A StreamReader waits in `_wait` for its connection to feed it; here that
    step decodes the next piece instead (reading the raw body when the
    decoder needs input), so nothing is inflated before it is asked for.
    """

    def __init__(self, raw: StreamReader, decoder: Any, loop: Any) -> None:
        super().__init__(_NoConnection(), STEP_BYTES, loop=loop)  # type: ignore[arg-type]
        self._raw = raw
        self._decoder = decoder

    async def _wait(self, func_name: str) -> None:
        decoder = self._decoder
        try:
            while True:
                if decoder.wants_input:
                    chunk = await self._raw.readany()
                    if not chunk:
                        if not decoder.finished:
                            raise BodyNotDecoded(f"the {decoder.name} body ends before its end")
                        self.feed_eof()
                        return
                    decoder.feed(chunk)
                out = decoder.decode(STEP_BYTES)
                if out:
                    self.feed_data(out)
                    return
        except DECODE_ERRORS as exc:
            raise BodyNotDecoded(f"the body is not valid {decoder.name}: {exc}") from None


def decode_body(request: web.Request) -> None:
    """Have the handler read the body decoded, as far as it reads; 415 for a coding not served."""
    encoding = request.headers.get("Content-Encoding", "").strip().lower()
    if encoding in PLAIN:
        return
    decoder = DECODERS.get(encoding)
    if decoder is None:
        raise UnsupportedMediaType(UNSUPPORTED)
    if request.body_exists:
        # The request keeps its payload in `_payload` (an attribute aiohttp lets be set:
        # it is in Request.ATTRS); request.read(), .content and .multipart() all read it.
        # tests/http/test_wire_requests.py fails if that ever stops holding.
        request._payload = DecodedBody(request.content, decoder(), asyncio.get_running_loop())
