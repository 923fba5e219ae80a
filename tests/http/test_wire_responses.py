"""Answers on the wire: JSON and text of 1 KiB or more in zstd or gzip, as Accept-Encoding allows."""

from __future__ import annotations

import base64
import hashlib

import orjson
import pytest

from tests.conftest import add_message, create_session
from tests.http.wire import decode, raw_session
from vault.accept_encoding import preferred_coding


async def history_url(client, messages: int = 20) -> str:
    session = await create_session(client)
    for n in range(messages):
        await add_message(client, session["id"], f"message {n}: " + "the same words again " * 10)
    return str(client.make_url(f"/storage/history?session_id={session['id']}&limit=50"))


async def fetch(url: str, accept: str | None, **headers: str):
    """Status, headers and the body as it came over the wire."""
    if accept is not None:
        headers["Accept-Encoding"] = accept
    async with raw_session() as http, http.get(url, headers=headers) as response:
        return response.status, response.headers, await response.read()


# Rule: a JSON answer of 1 KiB or more goes in the coding the client prefers (zstd on a tie) and decodes to the same.
@pytest.mark.parametrize(
    ("accept", "coding"),
    [
        ("zstd", "zstd"),
        ("gzip", "gzip"),
        ("gzip, zstd", "zstd"),
        ("zstd, gzip", "zstd"),
        ("gzip, deflate, br, zstd", "zstd"),
        ("gzip;q=1, zstd;q=0.5", "gzip"),
        ("zstd;q=0, gzip", "gzip"),
        ("*", "zstd"),
        ("*, zstd;q=0", "gzip"),
        ("x-gzip", "gzip"),
        ("ZSTD;Q=0.8 , GZip;q=0.2", "zstd"),
    ],
)
async def test_answers_are_compressed_as_the_client_prefers(client, accept, coding):
    url = await history_url(client)
    _, plain_headers, plain = await fetch(url, None)
    status, headers, body = await fetch(url, accept)
    assert status == 200
    assert headers["Content-Encoding"] == coding
    assert headers["Vary"] == "Accept-Encoding"
    assert int(headers["Content-Length"]) == len(body) < len(plain)
    assert orjson.loads(decode(coding, body)) == orjson.loads(plain)
    assert "Content-Encoding" not in plain_headers


# Rule: a client that allows neither coding gets the body as it is (still with Vary).
@pytest.mark.parametrize("accept", [None, "", "identity", "deflate, br", "zstd;q=0, gzip;q=0", "*;q=0", "gzip;q=x"])
async def test_no_coding_allowed_no_compression(client, accept):
    url = await history_url(client)
    status, headers, body = await fetch(url, accept)
    assert status == 200
    assert "Content-Encoding" not in headers
    assert headers["Vary"] == "Accept-Encoding"
    assert len(orjson.loads(body)) == 20


async def state_url_of_size(client, size: int) -> str:
    """A state whose GET answer is exactly `size` bytes of JSON."""
    session = await create_session(client)
    url = f"/storage/state/{session['id']}"

    async def answer_size(padding: int) -> int:
        assert (await client.put(url, json={"data": {"pad": "x" * padding}})).status == 200
        _, _, body = await fetch(str(client.make_url(url)), None)
        return len(body)

    first = await answer_size(100)
    # One more character of padding is one more byte of the answer.
    assert await answer_size(100 + size - first) == size
    return str(client.make_url(url))


# Rule: the threshold is 1 KiB: 1023 bytes go as they are, 1024 compressed; both say Vary.
@pytest.mark.parametrize(("size", "compressed"), [(1023, False), (1024, True)])
async def test_the_threshold_is_one_kib(client, size, compressed):
    url = await state_url_of_size(client, size)
    for accept in ("zstd", "gzip"):
        status, headers, body = await fetch(url, accept)
        assert status == 200
        assert headers["Vary"] == "Accept-Encoding"
        assert (headers.get("Content-Encoding") == accept) is compressed
        assert len(decode(headers.get("Content-Encoding"), body)) == size


# Rule: small answers, errors included, carry Vary and no Content-Encoding.
async def test_small_answers_and_errors_say_vary(client):
    for path in ("/health", "/storage/sessions/session_nope"):
        status, headers, _ = await fetch(str(client.make_url(path)), "zstd, gzip")
        assert status in (200, 404)
        assert "Content-Encoding" not in headers
        assert headers["Vary"] == "Accept-Encoding"


# Rule: a large error body is compressed like any other JSON answer.
async def test_a_large_error_body_is_compressed(client):
    bad = {f"field_{n}": n for n in range(60)}
    async with (
        raw_session() as http,
        http.post(client.make_url("/storage/sessions"), json=bad, headers={"Accept-Encoding": "zstd"}) as response,
    ):
        body = await response.read()
        assert response.status == 422
        assert response.headers["Content-Encoding"] == "zstd"
        assert orjson.loads(decode("zstd", body))["error"] == "validation_error"


# Rule: text answers (the OpenAPI description, Prometheus metrics) are compressed too.
@pytest.mark.parametrize("path", ["/openapi.json", "/metrics", "/docs"])
async def test_text_answers_are_compressed(client, path):
    status, headers, body = await fetch(str(client.make_url(path)), "gzip")
    assert status == 200
    assert headers["Content-Encoding"] == "gzip"
    assert len(decode("gzip", body)) >= 1024


DATA = bytes(range(256)) * 40 + b"{}" * 2000  # 14240 bytes, very compressible in part


async def stored_artifact(client, content_type: str) -> str:
    body = {"name": "a.json", "content_base64": base64.b64encode(DATA).decode(), "content_type": content_type}
    response = await client.post("/storage/artifacts", json=body)
    assert response.status == 201
    return str(client.make_url(f"/storage/artifacts/{(await response.json())['id']}/content"))


# Rule: artifact content goes as stored, whatever the client accepts and whatever its type.
@pytest.mark.parametrize("content_type", ["application/json", "text/plain", "application/octet-stream"])
async def test_artifact_content_is_sent_as_stored(client, content_type):
    url = await stored_artifact(client, content_type)
    status, headers, body = await fetch(url, "zstd, gzip")
    assert status == 200
    assert "Content-Encoding" not in headers and "Vary" not in headers
    assert body == DATA and headers["Content-Length"] == str(len(DATA))
    assert headers["ETag"] == f'"{hashlib.sha256(DATA).hexdigest()}"'


# Rule: a Range on artifact content stays exact: the stored bytes at those offsets.
@pytest.mark.parametrize(("header", "start", "end"), [("bytes=100-4099", 100, 4099), ("bytes=-2000", 12240, 14239)])
async def test_ranges_on_artifacts_are_untouched(client, header, start, end):
    url = await stored_artifact(client, "application/json")
    status, headers, body = await fetch(url, "zstd, gzip", Range=header)
    assert status == 206
    assert "Content-Encoding" not in headers
    assert headers["Content-Range"] == f"bytes {start}-{end}/{len(DATA)}"
    assert body == DATA[start : end + 1]


# Rule: Accept-Encoding is read by RFC 9110's rules (weights, *, aliases); a malformed weight drops its element.
@pytest.mark.parametrize(
    ("header", "coding"),
    [
        (None, None),
        ("", None),
        ("identity", None),
        ("gzip;q=0.001", "gzip"),
        ("gzip;q=1.5", None),
        ("gzip;q=nan", None),
        ("zstd;q=0.5, gzip;q=0.5", "zstd"),
        ("zstd;q=0.4, *;q=0.5", "gzip"),
        (" , ;q=1, zstd ;q=1", "zstd"),
        ("gzip;level=1", "gzip"),
    ],
)
def test_accept_encoding_rules(header, coding):
    assert preferred_coding(header) == coding
