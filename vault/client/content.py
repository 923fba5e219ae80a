"""Artifact bytes: the upload body and the two ways to receive a download.

Uploads go as multipart, the form the service streams to disk, so a large
file never sits whole in either side's memory. The service fingerprints a
multipart upload by its fields and the content's sha256, not its raw bytes,
so a retry with a fresh multipart boundary still matches its
Idempotency-Key.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import aiohttp

from vault.client.records import Content
from vault.client.transport import BodyFactory, Sink

CHUNK_BYTES = 256 * 1024


def multipart_upload(
    fields: Mapping[str, Any], filename: str, data: bytes | None, file: str | os.PathLike[str] | None
) -> BodyFactory:
    """The body of an upload: the artifact's fields, then the `file` part."""

    def build(cleanup: contextlib.ExitStack) -> aiohttp.FormData:
        form = aiohttp.FormData()
        for name, value in fields.items():
            if value is not None:
                form.add_field(name, value if isinstance(value, str) else json.dumps(value))
        # Bytes go in a BytesIO: aiohttp then sends them in chunks (and warns about large raw bytes).
        source = io.BytesIO(data) if data is not None else cleanup.enter_context(open(file, "rb"))  # noqa: SIM115
        form.add_field("file", source, filename=filename, content_type="application/octet-stream")
        return form

    return build


async def read_content(response: aiohttp.ClientResponse) -> Content:
    disposition = response.content_disposition
    return Content(
        data=await response.read(),
        content_type=response.headers.get("Content-Type"),
        etag=response.headers.get("ETag"),
        filename=disposition.filename if disposition is not None else None,
    )


def file_sink(path: str | os.PathLike[str]) -> Sink:
    """Streams the body into `path`: first into a `.part` file beside it, renamed
    into place when complete, so a failed attempt never leaves a partial file
    under the name (a retry starts the `.part` file over)."""
    target = Path(path)
    partial = target.with_name(target.name + ".part")

    async def sink(response: aiohttp.ClientResponse) -> int:
        written = 0
        handle = await asyncio.to_thread(open, partial, "wb")
        try:
            async for chunk in response.content.iter_chunked(CHUNK_BYTES):
                await asyncio.to_thread(handle.write, chunk)
                written += len(chunk)
            await asyncio.to_thread(handle.flush)
        except BaseException:
            await asyncio.to_thread(handle.close)
            await asyncio.to_thread(partial.unlink, missing_ok=True)
            raise
        await asyncio.to_thread(handle.close)
        await asyncio.to_thread(os.replace, partial, target)
        return written

    return sink
