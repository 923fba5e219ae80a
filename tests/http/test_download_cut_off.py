"""A download that fails after its status line went out: the connection closes, no wrong byte is sent."""

from __future__ import annotations

import asyncio
import io
import logging
import os
from pathlib import Path

import aiohttp
import pytest

# Larger than what loopback socket buffers and the client's read buffer hold together,
# so the server is still reading the blob when it shrinks.
SIZE = 48 * 1024 * 1024
# Only a liveness bound: a server that writes an error into the body leaves the client waiting.
NO_HANG = 60


@pytest.fixture
def data() -> bytes:
    return os.urandom(1024 * 1024) * (SIZE // (1024 * 1024))


def blob_file(config) -> Path:
    (path,) = (path for path in (Path(config.artifact_dir) / "blobs").rglob("*") if path.is_file())
    return path


async def _read_all(response: aiohttp.ClientResponse) -> tuple[bytes, BaseException | None]:
    received = bytearray()
    try:
        async for chunk in response.content.iter_any():
            received += chunk
    except aiohttp.ClientPayloadError as exc:
        return bytes(received), exc
    return bytes(received), None


# Rule: once a download's headers are sent, a failure cuts the body short; it never adds bytes to it.
async def test_a_blob_shrinking_mid_download_cuts_the_connection(client, config, data, caplog):
    upload = aiohttp.FormData()
    upload.add_field("file", io.BytesIO(data), filename="big.bin")
    created = await client.post("/storage/artifacts", data=upload)
    assert created.status == 201, await created.text()
    artifact_id = (await created.json())["id"]

    response = await client.get(f"/storage/artifacts/{artifact_id}/content")
    assert response.status == 200
    assert response.headers["Content-Length"] == str(SIZE)
    first = await response.content.readexactly(1024)
    # The server holds the blob open; cutting it short makes its next read come back empty.
    os.truncate(blob_file(config), 0)
    rest, error = await asyncio.wait_for(_read_all(response), NO_HANG)
    received = first + rest

    assert error is not None, "the body must end short of its Content-Length"
    assert len(received) < SIZE
    assert received == data[: len(received)], "every byte received is a byte of the file"
    assert any("cut off" in record.getMessage() for record in caplog.records if record.levelno >= logging.WARNING)
