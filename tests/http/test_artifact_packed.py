"""Artifacts kept packed at rest: downloads byte for byte, exact ranges, and the same headers as sent bytes."""

from __future__ import annotations

import hashlib
import io

import pytest

from tests.artifact_places import PLACES, artifact_url, stored_files
from tests.http.test_artifact_content import download, upload_multipart
from tests.store.test_contract_blob_packing import text_corpus
from vault.config import Config

MIB = 1024 * 1024
DATA = text_corpus(3 * MIB + 4321)
SIZE = len(DATA)


@pytest.fixture(params=PLACES)
def config(request, db_path) -> Config:
    # On disk, then in S3; compression at its default (zstd).
    return Config(db_path=db_path, artifact_url=artifact_url(request))


@pytest.fixture
async def artifact(client) -> dict:
    return await upload_multipart(client, io.BytesIO(DATA))


async def test_a_packed_artifact_downloads_byte_for_byte_with_the_raw_bytes_headers(client, config, artifact):
    sha = hashlib.sha256(DATA).hexdigest()
    assert (artifact["size"], artifact["sha256"]) == (SIZE, sha)
    assert stored_files(config) == [f"{sha}.zst"]
    response = await download(client, artifact["id"])
    assert response.status == 200
    assert response.headers["Content-Length"] == str(SIZE)
    assert response.headers["ETag"] == f'"{sha}"'
    assert await response.read() == DATA


@pytest.mark.parametrize(
    ("header", "first", "last"),
    [
        ("bytes=0-0", 0, 0),
        (f"bytes={SIZE - 1}-", SIZE - 1, SIZE - 1),
        (f"bytes={MIB - 1}-{MIB}", MIB - 1, MIB),
        (f"bytes={MIB}-{2 * MIB - 1}", MIB, 2 * MIB - 1),
        (f"bytes={MIB - 3}-{3 * MIB + 3}", MIB - 3, 3 * MIB + 3),
        ("bytes=-1000", SIZE - 1000, SIZE - 1),
        (f"bytes={3 * MIB}-", 3 * MIB, SIZE - 1),
    ],
    ids=["first-byte", "last-byte", "frame-boundary", "one-frame", "several-frames", "suffix", "last-frame"],
)
async def test_ranges_of_a_packed_artifact_are_exact(client, artifact, header, first, last):
    response = await download(client, artifact["id"], Range=header)
    assert response.status == 206
    assert response.headers["Content-Range"] == f"bytes {first}-{last}/{SIZE}"
    assert response.headers["Content-Length"] == str(last - first + 1)
    assert await response.read() == DATA[first : last + 1]


class TestCompressionOff:
    @pytest.fixture(params=PLACES)
    def config(self, request, db_path) -> Config:
        return Config(db_path=db_path, artifact_url=artifact_url(request), compression="off")

    async def test_artifacts_are_kept_as_sent(self, client, config, artifact):
        sha = artifact["sha256"]
        assert stored_files(config) == [sha]
        response = await download(client, artifact["id"], Range=f"bytes={MIB - 1}-{MIB}")
        assert await response.read() == DATA[MIB - 1 : MIB + 1]
