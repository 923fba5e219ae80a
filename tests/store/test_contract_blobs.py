"""Blob store port contract: what every blob store adapter promises (vault.store.blobs.BlobStore).

The tests speak to an adapter only through the port, so each adapter (the
filesystem, S3 through moto's server) is held to the same promises.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from vault.store.blobfs import FilesystemBlobStore
from vault.store.blobs import BlobStore
from vault.store.blobs3 import S3BlobStore
from vault.store.errors import BlobMissing, ContentTooLarge

from tests.s3temp import bucket_url


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _s3(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    request.getfixturevalue("s3_env")  # moto's server, named by the AWS settings
    return S3BlobStore(bucket_url())


# Adapters the contract runs against. A new adapter joins here: a builder
# that returns it, unopened, empty, given the test's request and a fresh temporary folder.
ADAPTERS: dict[str, Callable[[pytest.FixtureRequest, Path], BlobStore]] = {
    "filesystem": lambda request, tmp_path: FilesystemBlobStore(tmp_path / "artifacts"),
    "s3": _s3,
}


@pytest.fixture(params=list(ADAPTERS))
async def blob_store(request, tmp_path) -> AsyncIterator[BlobStore]:
    store = ADAPTERS[request.param](request, tmp_path)
    store.open()
    yield store
    await store.close()


async def put(blobs: BlobStore, data: bytes, chunk: int = 7000) -> str:
    async with blobs.upload() as upload:
        for start in range(0, len(data), chunk):
            await upload.write(data[start : start + chunk])
        await upload.place()
        assert upload.info is not None
        return upload.info.sha256


async def read(blobs: BlobStore, sha: str, start: int, end: int) -> bytes:
    return b"".join([chunk async for chunk in blobs.read(sha, start, end)])


async def listed_before(blobs: BlobStore, cutoff: float, page: int = 1000) -> list[str]:
    return [sha async for names in blobs.stored_before(cutoff, page) for sha in names]


async def test_an_upload_is_hashed_and_placed_under_its_sha256(blob_store):
    data = bytes(range(256)) * 100
    sha = await put(blob_store, data)
    assert sha == sha256(data)
    assert blob_store.contains(sha)
    assert await blob_store.size(sha) == len(data)
    assert await read(blob_store, sha, 0, len(data)) == data


async def test_a_range_is_exactly_its_bytes(blob_store):
    data = bytes(range(256)) * 10_000
    sha = await put(blob_store, data, chunk=65_536)
    for start, end in ((0, 1), (1, 2), (255, 70_000), (len(data) - 3, len(data)), (17, 17)):
        assert await read(blob_store, sha, start, end) == data[start:end]


async def test_a_large_read_comes_in_bounded_chunks(blob_store):
    data = b"z" * (5 * 1024 * 1024)
    sha = await put(blob_store, data, chunk=256 * 1024)
    sizes = [len(chunk) async for chunk in blob_store.read(sha, 0, len(data))]
    assert sum(sizes) == len(data)
    assert max(sizes) <= 1024 * 1024


async def test_a_missing_blob_is_blob_missing(blob_store):
    absent = sha256(b"never stored")
    assert not blob_store.contains(absent)
    with pytest.raises(BlobMissing):
        await blob_store.size(absent)
    with pytest.raises(BlobMissing):
        await read(blob_store, absent, 0, 1)
    assert blob_store.remove(absent) is False


async def test_a_read_past_the_end_is_blob_missing(blob_store):
    sha = await put(blob_store, b"short")
    with pytest.raises(BlobMissing):
        await read(blob_store, sha, 0, 10)


async def test_an_open_read_goes_on_after_removal(blob_store):
    data = b"y" * (3 * 1024 * 1024)
    sha = await put(blob_store, data)
    stream = blob_store.read(sha, 0, len(data))
    try:
        first = await anext(stream)
        assert blob_store.remove(sha)
        rest = [chunk async for chunk in stream]
    finally:
        await stream.aclose()
    assert first + b"".join(rest) == data


async def test_identical_uploads_make_one_blob(blob_store):
    sha = await put(blob_store, b"twice")
    assert await put(blob_store, b"twice") == sha
    assert await listed_before(blob_store, time.time() + 60) == [sha]


async def test_a_placed_blob_can_be_placed_again_after_removal(blob_store):
    async with blob_store.upload() as upload:
        await upload.write(b"again")
        await upload.place()
        sha = upload.info.sha256
        assert blob_store.remove(sha)
        assert not blob_store.contains(sha)
        await upload.place()
    assert await read(blob_store, sha, 0, 5) == b"again"


async def test_past_the_limit_nothing_is_kept(blob_store):
    with pytest.raises(ContentTooLarge):
        async with blob_store.upload(limit=10) as upload:
            await upload.write(b"0123456789")
            await upload.write(b"!")
    assert await listed_before(blob_store, time.time() + 60) == []
    assert await blob_store.remove_partials_before(time.time() + 60) == 0


async def test_an_unplaced_upload_leaves_nothing(blob_store):
    async with blob_store.upload(limit=10) as upload:
        await upload.write(b"0123456789")
        info = await upload.finish()
    assert (info.sha256, info.size) == (sha256(b"0123456789"), 10)
    assert not blob_store.contains(info.sha256)
    assert await blob_store.remove_partials_before(time.time() + 60) == 0


async def test_stored_before_pages_through_every_blob(blob_store):
    shas = {await put(blob_store, f"blob {n}".encode()) for n in range(7)}
    pages = [names async for names in blob_store.stored_before(time.time() + 60, 3)]
    assert all(len(names) <= 3 for names in pages)
    assert {sha for names in pages for sha in names} == shas
    assert await listed_before(blob_store, time.time() - 3600) == []


async def test_partials_of_abandoned_uploads_are_swept(blob_store):
    async with blob_store.upload() as upload:
        # Well under way: past what an adapter may hold in memory before storing any of it
        # (bytes that do not compress, so that is as many bytes stored as sent).
        for _ in range(20):
            await upload.write(os.urandom(1_114_112))
        assert await blob_store.remove_partials_before(time.time() - 3600) == 0
        assert await blob_store.remove_partials_before(time.time() + 60) == 1


async def test_export_and_import(blob_store, tmp_path):
    first = await put(blob_store, b"first")
    second = await put(blob_store, b"second")
    exported = blob_store.export([first, second, "0" * 64], tmp_path / "copy")
    assert (exported.copied, exported.size, exported.missing) == (2, 11, ("0" * 64,))
    assert (tmp_path / "copy" / first[:2] / first).read_bytes() == b"first"
    blob_store.remove(first)
    assert blob_store.import_from(tmp_path / "copy") == 1
    assert await read(blob_store, first, 0, 5) == b"first"
    assert blob_store.import_from(tmp_path / "copy") == 0
