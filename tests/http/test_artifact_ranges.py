"""Range requests on artifact content, through the API and at the parser."""

from __future__ import annotations

import base64
import hashlib

import pytest
from vault.handlers.downloads import ByteRange, RangeNotSatisfiable, parse_range

from tests.artifact_places import PLACES, artifact_url
from vault.config import Config

DATA = bytes(range(256)) * 40  # 10240 bytes, every offset tells its value
SIZE = len(DATA)


@pytest.fixture(params=PLACES)
def config(request, db_path) -> Config:
    # Every test here runs with the bytes on disk, then in S3.
    return Config(db_path=db_path, artifact_url=artifact_url(request))


@pytest.fixture
async def artifact_id(client) -> str:
    response = await client.post("/storage/artifacts", json={"name": "data.bin", "content_base64": _b64(DATA)})
    assert response.status == 201
    return (await response.json())["id"]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


async def fetch(client, artifact_id: str, **headers: str):
    return await client.get(f"/storage/artifacts/{artifact_id}/content", headers=headers)


@pytest.mark.parametrize(
    ("header", "first", "last"),
    [
        ("bytes=0-0", 0, 0),
        ("bytes=100-199", 100, 199),
        ("bytes=10000-", 10000, SIZE - 1),
        ("bytes=-300", SIZE - 300, SIZE - 1),
        ("bytes=-99999", 0, SIZE - 1),
        ("bytes=5000-999999", 5000, SIZE - 1),
        (f"bytes={SIZE - 1}-", SIZE - 1, SIZE - 1),
        ("BYTES = 7 - 9", 7, 9),
    ],
    ids=["first-byte", "start-end", "open-ended", "suffix", "suffix-past-start", "end-past-end", "last-byte", "spaces"],
)
async def test_satisfiable_ranges_are_206(client, artifact_id, header, first, last):
    response = await fetch(client, artifact_id, Range=header)
    assert response.status == 206
    assert response.headers["Content-Range"] == f"bytes {first}-{last}/{SIZE}"
    assert response.headers["Content-Length"] == str(last - first + 1)
    assert response.headers["ETag"] == f'"{hashlib.sha256(DATA).hexdigest()}"'
    assert await response.read() == DATA[first : last + 1]


@pytest.mark.parametrize("header", [f"bytes={SIZE}-", f"bytes={SIZE + 10}-{SIZE + 20}", "bytes=-0"])
async def test_unsatisfiable_ranges_are_416(client, artifact_id, header):
    response = await fetch(client, artifact_id, Range=header)
    assert response.status == 416
    assert response.headers["Content-Range"] == f"bytes */{SIZE}"
    body = await response.json()
    assert body["error"] == "range_not_satisfiable"


@pytest.mark.parametrize(
    "header",
    ["items=0-5", "bytes=0-1,5-6", "bytes=9-3", "bytes=abc", "bytes=-", "bytes=1.5-2"],
    ids=["other-unit", "several", "backwards", "garbage", "empty", "not-integers"],
)
async def test_ranges_that_cannot_be_honoured_give_everything(client, artifact_id, header):
    response = await fetch(client, artifact_id, Range=header)
    assert response.status == 200
    assert "Content-Range" not in response.headers
    assert await response.read() == DATA


async def test_if_range_keeps_the_range_only_for_the_same_content(client, artifact_id):
    etag = (await fetch(client, artifact_id)).headers["ETag"]
    same = await fetch(client, artifact_id, Range="bytes=0-9", **{"If-Range": etag})
    assert (same.status, await same.read()) == (206, DATA[:10])
    other = await fetch(client, artifact_id, Range="bytes=0-9", **{"If-Range": '"stale"'})
    assert (other.status, await other.read()) == (200, DATA)
    dated = await fetch(client, artifact_id, Range="bytes=0-9", **{"If-Range": "Wed, 21 Oct 2015 07:28:00 GMT"})
    assert dated.status == 200


async def test_a_range_of_empty_content_is_416(client):
    response = await client.post("/storage/artifacts", json={"name": "empty", "content": ""})
    artifact_id = (await response.json())["id"]
    assert (await fetch(client, artifact_id, Range="bytes=0-")).status == 416
    assert (await fetch(client, artifact_id, Range="bytes=-5")).status == 416
    whole = await fetch(client, artifact_id)
    assert (whole.status, await whole.read()) == (200, b"")


@pytest.mark.parametrize(
    ("header", "size", "expected"),
    [
        ("bytes=0-4", 10, ByteRange(0, 4)),
        ("bytes=8-", 10, ByteRange(8, 9)),
        ("bytes=-3", 10, ByteRange(7, 9)),
        ("bytes=-30", 10, ByteRange(0, 9)),
        ("bytes=3-300", 10, ByteRange(3, 9)),
        (f"bytes=0-{10**30}", 10, ByteRange(0, 9)),
        ("bytes=4-3", 10, None),
        ("bytes=1-2, 4-5", 10, None),
        ("pages=1-2", 10, None),
    ],
)
def test_parse_range(header, size, expected):
    assert parse_range(header, size) == expected


@pytest.mark.parametrize(
    ("header", "size"), [("bytes=10-", 10), (f"bytes={10**30}-", 10), ("bytes=-0", 10), ("bytes=-1", 0)]
)
def test_parse_range_unsatisfiable(header, size):
    with pytest.raises(RangeNotSatisfiable):
        parse_range(header, size)
