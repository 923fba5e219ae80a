"""Artifact content through the API: uploads in three forms, downloads, caps, dedup, deletes."""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.artifact_places import PLACES, artifact_url, partial_uploads, stored_blobs
from tests.conftest import create_session
from vault.app import create_app
from vault.config import Config

CAP = 256 * 1024
BINARY = bytes(range(256)) * 4 + b"\x00\xff\r\n\x1a" + os.urandom(3000)


@pytest.fixture(params=PLACES)
def config(request, db_path) -> Config:
    # Every test here runs with the bytes on disk, then in S3.
    return Config(db_path=db_path, max_artifact_bytes=CAP, artifact_url=artifact_url(request))


def artifact_dir(config: Config) -> Path:
    return Path(config.artifact_dir)


def form(data: bytes, *, filename: str | None = "data.bin", file_type: str | None = None, **fields: str):
    body = aiohttp.FormData()
    for name, value in fields.items():
        body.add_field(name, value)
    body.add_field("file", data, filename=filename, content_type=file_type)
    return body


async def upload_multipart(client, data: bytes, **fields: Any) -> dict[str, Any]:
    response = await client.post("/storage/artifacts", data=form(data, **fields))
    assert response.status == 201, await response.text()
    artifact = await response.json()
    assert response.headers["Location"] == f"/storage/artifacts/{artifact['id']}"
    return artifact


async def upload_json(client, **body: Any) -> dict[str, Any]:
    response = await client.post("/storage/artifacts", json={"name": "data.bin", **body})
    assert response.status == 201, await response.text()
    return await response.json()


async def download(client, artifact_id: str, **headers: str) -> aiohttp.ClientResponse:
    return await client.get(f"/storage/artifacts/{artifact_id}/content", headers=headers)


async def content_of(client, artifact_id: str) -> bytes:
    response = await download(client, artifact_id)
    assert response.status == 200, await response.text()
    return await response.read()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# -- the three upload forms


async def test_multipart_round_trip_is_binary_exact(client, config):
    session_id = (await create_session(client))["id"]
    artifact = await upload_multipart(
        client, BINARY, session_id=session_id, name="blob.bin", type="data", metadata='{"run": 7}'
    )
    assert (artifact["size"], artifact["sha256"]) == (len(BINARY), sha256(BINARY))
    assert (artifact["session_id"], artifact["name"], artifact["type"]) == (session_id, "blob.bin", "data")
    assert artifact["metadata"] == {"run": 7}
    assert artifact["path"] is None
    assert await content_of(client, artifact["id"]) == BINARY
    response = await client.get(f"/storage/artifacts/{artifact['id']}")
    assert await response.json() == artifact
    assert stored_blobs(config) == [sha256(BINARY)]


async def test_json_content_round_trip(client):
    text = "naïve café ✓ 📄\nline two\r\n"
    artifact = await upload_json(client, name="notes.txt", content=text)
    data = text.encode()
    assert (artifact["size"], artifact["sha256"]) == (len(data), sha256(data))
    assert artifact["content_type"] == "text/plain; charset=utf-8"
    assert await content_of(client, artifact["id"]) == data


async def test_json_base64_round_trip_is_binary_exact(client):
    artifact = await upload_json(client, name="blob", content_base64=base64.b64encode(BINARY).decode())
    assert (artifact["size"], artifact["sha256"]) == (len(BINARY), sha256(BINARY))
    assert artifact["content_type"] == "application/octet-stream"
    assert await content_of(client, artifact["id"]) == BINARY


@pytest.mark.parametrize("data", [b"", b"\x00", b"a" * CAP], ids=["empty", "one-byte", "exactly-the-cap"])
async def test_edge_sizes(client, data):
    artifact = await upload_multipart(client, data)
    assert (artifact["size"], artifact["sha256"]) == (len(data), sha256(data))
    response = await download(client, artifact["id"])
    assert response.headers["Content-Length"] == str(len(data))
    assert await response.read() == data


async def test_the_metadata_only_call_still_records_a_reference(client, config):
    response = await client.post(
        "/storage/artifacts", json={"name": "out.csv", "type": "data", "path": "/data/out.csv", "size": 10}
    )
    assert response.status == 201
    artifact = await response.json()
    assert (artifact["path"], artifact["size"], artifact["sha256"]) == ("/data/out.csv", 10, None)
    response = await download(client, artifact["id"])
    assert response.status == 404
    assert (await response.json())["error"] == "no_content"
    assert stored_blobs(config) == []


async def test_name_defaults_to_the_file_name(client):
    artifact = await upload_multipart(client, b"x", filename="report-2026.pdf")
    assert artifact["name"] == "report-2026.pdf"
    assert artifact["content_type"] == "application/pdf"


@pytest.mark.parametrize(
    ("fields", "file_type", "expected"),
    [
        ({"content_type": "text/csv"}, "image/png", "text/csv"),
        ({}, "image/png", "image/png"),
        ({"name": "chart.png"}, "application/octet-stream", "image/png"),
        ({"name": "no-extension"}, None, "application/octet-stream"),
    ],
    ids=["field-wins", "part-type", "guessed-from-name", "default"],
)
async def test_content_type(client, fields, file_type, expected):
    artifact = await upload_multipart(client, b"1,2\n", file_type=file_type, **fields)
    assert artifact["content_type"] == expected
    assert (await download(client, artifact["id"])).headers["Content-Type"] == expected


async def test_fields_may_follow_the_file(client):
    body = aiohttp.FormData()
    body.add_field("file", b"late fields", filename="a.txt")
    body.add_field("type", "log")
    body.add_field("metadata", '{"k": "v"}')
    response = await client.post("/storage/artifacts", data=body)
    assert response.status == 201, await response.text()
    artifact = await response.json()
    assert (artifact["type"], artifact["metadata"], artifact["size"]) == ("log", {"k": "v"}, 11)


# -- headers of a download


async def test_download_headers(client):
    artifact = await upload_multipart(client, BINARY, name="résumé final.pdf", content_type="application/pdf")
    response = await download(client, artifact["id"])
    assert response.status == 200
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.headers["Content-Length"] == str(len(BINARY))
    assert response.headers["ETag"] == f'"{sha256(BINARY)}"'
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Accept-Ranges"] == "bytes"
    disposition = response.headers["Content-Disposition"]
    assert disposition == "attachment; filename=\"r_sum_ final.pdf\"; filename*=UTF-8''r%C3%A9sum%C3%A9%20final.pdf"
    assert await response.read() == BINARY


@pytest.mark.parametrize(
    "name",
    ["../../etc/passwd", "/etc/shadow", '"; filename="evil.exe', "a\\b", "line\nbreak", "..", "%2e%2e%2f"],
)
async def test_names_are_data_never_paths(client, config, tmp_path, name):
    before = sorted(path for path in tmp_path.rglob("*") if not path.is_relative_to(artifact_dir(config)))
    artifact = await upload_multipart(client, b"payload", name=name)
    assert artifact["name"] == name
    response = await download(client, artifact["id"])
    assert await response.read() == b"payload"
    disposition = response.headers["Content-Disposition"]
    fallback = disposition.split('filename="', 1)[1].split('"', 1)[0]
    assert not set(fallback) & set('/\\"\r\n')
    assert disposition.startswith("attachment; ")
    # Nothing appears anywhere but in the artifact folder.
    after = sorted(path for path in tmp_path.rglob("*") if not path.is_relative_to(artifact_dir(config)))
    assert after == before
    assert stored_blobs(config) == [sha256(b"payload")]


@pytest.mark.parametrize("content_type", ["no type", "text/html\r\nX-Evil: 1", "text/html\u2028", "image/"])
async def test_stored_content_needs_a_real_media_type(client, content_type):
    # Rule: a Content-Type that goes out as a header is a well-formed media type.
    response = await client.post(
        "/storage/artifacts", json={"name": "x", "content": "hi", "content_type": content_type}
    )
    assert response.status == 422
    assert [error["loc"] for error in (await response.json())["errors"]] == [["body", "content_type"]]


async def test_if_none_match_gives_304(client):
    artifact = await upload_multipart(client, BINARY)
    etag = f'"{artifact["sha256"]}"'
    for header in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        response = await download(client, artifact["id"], **{"If-None-Match": header})
        assert response.status == 304, header
        assert response.headers["ETag"] == etag
        assert await response.read() == b""
    response = await download(client, artifact["id"], **{"If-None-Match": '"something-else"'})
    assert response.status == 200
    assert await response.read() == BINARY


async def test_head_sends_headers_only(client):
    artifact = await upload_multipart(client, BINARY)
    response = await client.head(f"/storage/artifacts/{artifact['id']}/content")
    assert response.status == 200
    assert response.headers["Content-Length"] == str(len(BINARY))
    assert response.headers["ETag"] == f'"{artifact["sha256"]}"'


async def test_unknown_artifact_content_is_404(client):
    response = await download(client, "artifact_00000000000000deadbeef00")
    assert response.status == 404
    assert (await response.json())["error"] == "not_found"


# -- the cap


async def test_over_the_cap_is_413_and_nothing_is_kept(client, config):
    # Rule: over VAULT_MAX_ARTIFACT_BYTES, 413 and nothing stored: no record, no file.
    session_id = (await create_session(client))["id"]
    response = await client.post("/storage/artifacts", data=form(b"x" * (CAP + 1), session_id=session_id))
    assert response.status == 413
    body = await response.json()
    assert body["error"] == "payload_too_large"
    assert isinstance(body["detail"], str)
    listed = await client.get("/storage/artifacts")
    assert await listed.json() == []
    assert stored_blobs(config) == []
    assert partial_uploads(config) == []


async def test_over_the_cap_streamed_without_a_length_is_413(client, config):
    async def chunks():
        for _ in range(CAP // 1024 + 1):
            yield b"y" * 1024

    writer = aiohttp.MultipartWriter("form-data")
    part = writer.append(chunks())
    part.set_content_disposition("form-data", name="file", filename="big.bin")
    response = await client.post("/storage/artifacts", data=writer)
    assert response.status == 413
    assert await (await client.get("/storage/artifacts")).json() == []
    assert stored_blobs(config) == []
    assert partial_uploads(config) == []


async def test_json_content_over_the_cap_is_413(client, config):
    response = await client.post("/storage/artifacts", json={"name": "x", "content": "z" * (CAP + 1)})
    assert response.status == 413
    assert (await response.json())["error"] == "payload_too_large"
    assert stored_blobs(config) == []
    assert partial_uploads(config) == []


async def test_a_large_body_is_not_refused_by_the_json_body_limit(aiohttp_client, db_path):
    # Rule: the body-size limit of JSON routes does not bound a streamed multipart upload.
    config = Config(db_path=db_path, max_body_bytes=4096, max_artifact_bytes=1024 * 1024)
    client = await aiohttp_client(create_app(config))
    data = os.urandom(512 * 1024)
    artifact = await upload_multipart(client, data)
    assert artifact["sha256"] == sha256(data)
    assert await content_of(client, artifact["id"]) == data


# -- bad requests


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"content": "a", "content_base64": "YQ=="}, ["body", "content_base64"]),
        ({"content_base64": "not base64!"}, ["body", "content_base64"]),
        ({"content_base64": "YQ"}, ["body", "content_base64"]),
        ({"content": 7}, ["body", "content"]),
        ({"content": "abc", "size": 4}, ["body", "size"]),
    ],
    ids=["both", "bad-alphabet", "no-padding", "not-a-string", "size-mismatch"],
)
async def test_bad_json_content_is_422(client, config, body, loc):
    response = await client.post("/storage/artifacts", json={"name": "x", **body})
    assert response.status == 422
    assert [error["loc"] for error in (await response.json())["errors"]] == [loc]
    assert await (await client.get("/storage/artifacts")).json() == []
    assert stored_blobs(config) == []


async def test_a_matching_size_is_accepted(client):
    artifact = await upload_json(client, content="abc", size=3)
    assert artifact["size"] == 3


@pytest.mark.parametrize(
    ("fields", "loc"),
    [
        ({"metadata": "{not json"}, ["body", "metadata"]),
        ({"metadata": "[1]"}, ["body", "metadata"]),
        ({"size": "-1"}, ["body", "size"]),
        ({"size": "999"}, ["body", "size"]),
        ({"colour": "red"}, ["body", "colour"]),
        ({"name": ""}, ["body", "name"]),
        ({"session_id": "session_00000000000000deadbeef00"}, None),
    ],
    ids=[
        "metadata-not-json",
        "metadata-not-object",
        "negative-size",
        "size-mismatch",
        "unknown",
        "empty-name",
        "no-session",
    ],
)
async def test_bad_multipart_fields(client, config, fields, loc):
    response = await client.post("/storage/artifacts", data=form(b"content", **fields))
    if loc is None:
        assert response.status == 404
    else:
        assert response.status == 422, await response.text()
        assert [error["loc"] for error in (await response.json())["errors"]] == [loc]
    assert await (await client.get("/storage/artifacts")).json() == []
    assert stored_blobs(config) == []
    assert partial_uploads(config) == []


async def test_multipart_without_a_file_is_422(client):
    body = aiohttp.FormData(default_to_multipart=True)
    body.add_field("name", "x")
    body.add_field("type", "y")
    response = await client.post("/storage/artifacts", data=body)
    assert response.status == 422
    assert [error["loc"] for error in (await response.json())["errors"]] == [["body", "file"]]


async def test_two_files_is_422(client, config):
    body = aiohttp.FormData()
    body.add_field("file", b"one", filename="a")
    body.add_field("file", b"two", filename="b")
    response = await client.post("/storage/artifacts", data=body)
    assert response.status == 422
    assert stored_blobs(config) == []


async def test_multipart_without_a_boundary_is_400(client):
    response = await client.post(
        "/storage/artifacts", data=b"--x\r\n\r\n", headers={"Content-Type": "multipart/form-data"}
    )
    assert response.status == 400


# -- dedup and delete


async def test_same_bytes_are_stored_once_and_removed_with_the_last_artifact(client, config):
    # Rule: identical content is stored once; its file goes when no artifact points at it.
    first = await upload_multipart(client, BINARY, name="one")
    second = await upload_json(client, name="two", content_base64=base64.b64encode(BINARY).decode())
    assert first["sha256"] == second["sha256"]
    assert len(stored_blobs(config)) == 1

    assert (await client.delete(f"/storage/artifacts/{first['id']}")).status == 200
    assert await content_of(client, second["id"]) == BINARY
    assert len(stored_blobs(config)) == 1

    assert (await client.delete(f"/storage/artifacts/{second['id']}")).status == 200
    assert stored_blobs(config) == []
    assert (await download(client, second["id"])).status == 404


async def test_deleting_a_session_removes_its_bytes(client, config):
    session_id = (await create_session(client))["id"]
    other_id = (await create_session(client))["id"]
    await upload_multipart(client, b"only in the session", session_id=session_id)
    shared = await upload_multipart(client, b"shared", session_id=session_id)
    kept = await upload_multipart(client, b"shared", session_id=other_id)
    assert len(stored_blobs(config)) == 2

    assert (await client.delete(f"/storage/sessions/{session_id}")).status == 200
    assert stored_blobs(config) == [sha256(b"shared")]
    assert (await download(client, shared["id"])).status == 404
    assert await content_of(client, kept["id"]) == b"shared"


async def test_an_upload_for_a_missing_session_keeps_nothing(client, config):
    response = await client.post(
        "/storage/artifacts", json={"name": "x", "content": "abc", "session_id": "session_00000000000000deadbeef00"}
    )
    assert response.status == 404
    assert stored_blobs(config) == []
    assert partial_uploads(config) == []


async def test_idempotent_multipart_retry_stores_once(client, config):
    headers = {"Idempotency-Key": "upload-1"}
    first = await client.post("/storage/artifacts", data=form(BINARY, name="a"), headers=headers)
    again = await client.post("/storage/artifacts", data=form(BINARY, name="a"), headers=headers)
    assert (first.status, again.status) == (201, 201)
    assert await first.json() == await again.json()
    assert len(await (await client.get("/storage/artifacts")).json()) == 1
    other = await client.post("/storage/artifacts", data=form(b"different", name="a"), headers=headers)
    assert other.status == 422
    assert (await other.json())["error"] == "idempotency_key_reused"
    assert stored_blobs(config) == [sha256(BINARY)]


BOUNDARY = "XyZ"
HOSTILE_BODIES = {
    "no-final-boundary": b'--XyZ\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n\r\nabc',
    "not-multipart": b"this is not multipart at all",
    "wrong-boundary": b'--other\r\nContent-Disposition: form-data; name="file"\r\n\r\nabc\r\n--other--\r\n',
    "no-disposition": b"--XyZ\r\nContent-Type: text/plain\r\n\r\nabc\r\n--XyZ--\r\n",
    "broken-disposition": b'--XyZ\r\nContent-Disposition: form-data; name="fi\r\n\r\nabc\r\n--XyZ--\r\n',
    "empty-disposition": b"--XyZ\r\nContent-Disposition: ;;;\r\n\r\nabc\r\n--XyZ--\r\n",
    "nested": b"--XyZ\r\nContent-Type: multipart/mixed; boundary=in\r\nContent-Disposition: form-data; "
    b'name="file"\r\n\r\n--in\r\n\r\nx\r\n--in--\r\n\r\n--XyZ--\r\n',
    "empty": b"",
    "only-the-end": b"--XyZ--\r\n",
    "latin-1-filename": b'--XyZ\r\nContent-Disposition: form-data; name="file"; filename="caf\xe9"\r\n'
    b"\r\nabc\r\n--XyZ--\r\n",
    "metadata-not-utf-8": b'--XyZ\r\nContent-Disposition: form-data; name="metadata"\r\n\r\n\xff\r\n'
    b'--XyZ\r\nContent-Disposition: form-data; name="file"\r\n\r\nabc\r\n--XyZ--\r\n',
}


@pytest.mark.parametrize("body", list(HOSTILE_BODIES.values()), ids=list(HOSTILE_BODIES))
async def test_hostile_multipart_bodies_are_refused_cleanly(client, config, body):
    # Rule: never a 500 for anything a client sent.
    response = await client.post(
        "/storage/artifacts", data=body, headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
    )
    assert response.status in (201, 400, 422), await response.text()
    if response.status != 201:
        assert stored_blobs(config) == []
    assert partial_uploads(config) == []
