"""Request bodies in gzip or zstd: decoded as read, bounded by their decoded size."""

from __future__ import annotations

import gzip
import hashlib

import aiohttp
import orjson
import pytest

from tests.conftest import create_session
from tests.http.wire import MIB, encode, zeros_bomb
from vault.app import create_app
from vault.config import Config
from vault.request_decoding import DecodedBody

CODINGS = ["gzip", "zstd"]
JSON = {"Content-Type": "application/json"}


def headers(coding: str, **more: str) -> dict[str, str]:
    return {**JSON, "Content-Encoding": coding, **more}


# Rule: a JSON body in gzip or zstd is read as the JSON it decodes to, on every kind of route.
@pytest.mark.parametrize("coding", CODINGS)
async def test_json_bodies_are_decoded(client, coding):
    session = await create_session(client)
    message = {"session_id": session["id"], "role": "tool", "content": "output " * 500, "metadata": {"n": 1}}
    response = await client.post(
        "/storage/history", data=encode(coding, orjson.dumps(message)), headers=headers(coding)
    )
    assert response.status == 201, await response.text()
    stored = await (await client.get(f"/storage/history/{(await response.json())['id']}")).json()
    assert stored["content"] == message["content"]

    state = {"data": {"plan": ["a", "b"], "notes": "n" * 3000}}
    url = f"/storage/state/{session['id']}"
    response = await client.put(url, data=encode(coding, orjson.dumps(state)), headers=headers(coding))
    assert response.status == 200, await response.text()
    assert (await (await client.get(url)).json())["data"] == state["data"]


# Rule: several gzip members, or several zstd frames, are one body: their concatenation.
@pytest.mark.parametrize("coding", CODINGS)
async def test_concatenated_members_are_one_body(client, coding):
    text = orjson.dumps({"agent_name": "split in two", "metadata": {"k": "v"}})
    body = encode(coding, text[:10]) + encode(coding, text[10:])
    response = await client.post("/storage/sessions", data=body, headers=headers(coding))
    assert response.status == 201, await response.text()
    assert (await response.json())["agent_name"] == "split in two"


# Rule: an Idempotency-Key fingerprints the decoded body, so a retry in another coding is the same request.
async def test_a_retry_in_another_coding_is_the_same_request(client):
    text = orjson.dumps({"agent_name": "once"})
    first = await client.post("/storage/sessions", data=text, headers={**JSON, "Idempotency-Key": "k1"})
    again = await client.post(
        "/storage/sessions", data=encode("zstd", text), headers=headers("zstd", **{"Idempotency-Key": "k1"})
    )
    assert first.status == again.status == 201
    assert (await first.json())["id"] == (await again.json())["id"]


# Rule: a body that does not decode is a 400 saying so, never a 500; the service goes on answering.
@pytest.mark.parametrize("coding", CODINGS)
@pytest.mark.parametrize("kind", ["garbage", "truncated", "trailing garbage"])
async def test_a_body_that_does_not_decode_is_400(client, coding, kind):
    good = encode(coding, orjson.dumps({"agent_name": "x" * 2000}))
    body = {"garbage": b"not compressed at all", "truncated": good[: len(good) // 2], "trailing garbage": good + b"!!"}
    response = await client.post("/storage/sessions", data=body[kind], headers=headers(coding))
    assert response.status == 400, await response.text()
    error = await response.json()
    assert error["error"] == "bad_request" and coding in error["detail"]
    assert (await client.get("/health")).status == 200


# Rule: an empty body in a coding is an empty body (the route's own 400), not a decoding error.
async def test_an_empty_encoded_body_is_an_empty_body(client):
    response = await client.post("/storage/sessions", data=b"", headers=headers("gzip"))
    assert response.status == 400
    assert (await response.json())["error"] == "invalid_json"


# Rule: any coding but gzip, zstd and identity is a 415, deflate included (the contract names gzip and zstd).
@pytest.mark.parametrize("coding", ["deflate", "br", "compress", "gzip, zstd", "zstd, gzip"])
async def test_other_codings_are_415(client, coding):
    response = await client.post("/storage/sessions", data=b'{"agent_name": "a"}', headers=headers(coding))
    assert response.status == 415, await response.text()
    assert "Content-Encoding" in (await response.json())["detail"]


@pytest.fixture
async def small_client(aiohttp_client, db_path):
    return await aiohttp_client(create_app(Config(db_path=db_path, max_body_bytes=64 * 1024, max_artifact_bytes=MIB)))


# Rule: the decoded size counts against VAULT_MAX_BODY_BYTES: a small compressed body that inflates past it is a 413.
@pytest.mark.parametrize("coding", CODINGS)
async def test_the_decoded_size_counts_against_the_limit(small_client, coding):
    fits = orjson.dumps({"agent_name": "a", "metadata": {"pad": "x" * (60 * 1024)}})
    too_big = orjson.dumps({"agent_name": "a", "metadata": {"pad": "x" * (70 * 1024)}})
    assert len(encode(coding, too_big)) < 1024
    response = await small_client.post("/storage/sessions", data=encode(coding, fits), headers=headers(coding))
    assert response.status == 201, await response.text()
    response = await small_client.post("/storage/sessions", data=encode(coding, too_big), headers=headers(coding))
    assert response.status == 413, await response.text()
    assert (await response.json())["error"] == "payload_too_large"


@pytest.fixture
def inflated(monkeypatch) -> list[int]:
    """Every decoded byte a DecodedBody hands out, request by request."""
    totals: list[int] = []
    original = DecodedBody.feed_data

    def counting(self, data: bytes, size: int = 0) -> bool:
        if not totals or getattr(self, "_counted", None) is None:
            self._counted = len(totals)
            totals.append(0)
        totals[self._counted] += len(data)
        return original(self, data, size)

    monkeypatch.setattr(DecodedBody, "feed_data", counting)
    return totals


# Rule: 200 MB of zeros packed small is refused (413) once the limit is passed; the rest is never inflated.
@pytest.mark.parametrize("coding", CODINGS)
async def test_a_decompression_bomb_is_refused_without_inflating_it(small_client, inflated, coding):
    bomb = zeros_bomb(coding, 200 * MIB)
    assert len(bomb) < 300 * 1024
    response = await small_client.post("/storage/sessions", data=bomb, headers=headers(coding))
    assert response.status == 413, await response.text()
    # Inflated: the limit and at most one step past it, not 200 MB.
    assert inflated and max(inflated) <= 64 * 1024 + 64 * 1024
    assert (await small_client.get("/health")).status == 200


def multipart(content: bytes) -> aiohttp.MultipartWriter:
    writer = aiohttp.MultipartWriter("form-data")
    part = writer.append(content)
    part.set_content_disposition("form-data", name="file", filename="notes.txt")
    return writer


async def multipart_bytes(content: bytes) -> tuple[bytes, str]:
    writer = multipart(content)

    class Sink:
        def __init__(self) -> None:
            self.data = bytearray()

        async def write(self, chunk: bytes) -> None:
            self.data += chunk

    sink = Sink()
    await writer.write(sink)
    return bytes(sink.data), writer.content_type


# Rule: an upload in gzip or zstd (multipart or JSON) is stored decoded: its size and sha256 are the content's.
@pytest.mark.parametrize("coding", CODINGS)
async def test_uploads_are_stored_decoded(client, coding):
    content = b"line of a log file\n" * 5000
    body, content_type = await multipart_bytes(content)
    response = await client.post(
        "/storage/artifacts",
        data=encode(coding, body),
        headers={"Content-Type": content_type, "Content-Encoding": coding},
    )
    assert response.status == 201, await response.text()
    artifact = await response.json()
    assert (artifact["size"], artifact["sha256"]) == (len(content), hashlib.sha256(content).hexdigest())
    download = await client.get(f"/storage/artifacts/{artifact['id']}/content")
    assert await download.read() == content

    as_json = orjson.dumps({"name": "notes.txt", "content": content.decode()})
    response = await client.post("/storage/artifacts", data=encode(coding, as_json), headers=headers(coding))
    assert response.status == 201, await response.text()
    assert (await response.json())["sha256"] == artifact["sha256"]


# Rule: the artifact cap counts decoded bytes: a packed upload that inflates past it is a 413, inflated no further.
@pytest.mark.parametrize("coding", CODINGS)
async def test_an_upload_bomb_is_refused_at_the_artifact_cap(small_client, inflated, coding):
    head, content_type = await multipart_bytes(b"")
    # The multipart framing around 200 MB of zeros, all of it compressed as one body.
    opening, closing = head.split(b"\r\n\r\n", 1)
    if coding == "gzip":
        bomb = gzip.compress(opening + b"\r\n\r\n") + zeros_bomb("gzip", 200 * MIB) + gzip.compress(closing)
    else:
        bomb = encode("zstd", opening + b"\r\n\r\n") + zeros_bomb("zstd", 200 * MIB) + encode("zstd", closing)
    response = await small_client.post(
        "/storage/artifacts", data=bomb, headers={"Content-Type": content_type, "Content-Encoding": coding}
    )
    assert response.status == 413, await response.text()
    # The cap and what the multipart reader reads ahead (a chunk of 256 KiB, a step), not 200 MB.
    assert max(inflated) <= MIB + 512 * 1024
    assert await (await small_client.get("/storage/artifacts")).json() == []
