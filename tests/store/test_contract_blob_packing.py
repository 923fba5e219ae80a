"""Artifact bytes kept packed (zstd, in seekable frames): what every blob store adapter promises.

Each test opens two adapters over the same place: one that packs uploads
(VAULT_COMPRESSION=zstd) and one that does not (=off, or a store written
before packing existed). Everything is checked through the port.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
import zstandard
from vault.store import blob_packing
from vault.store.blob_packing import CHUNK_BYTES, Packer
from vault.store.blobfs import FilesystemBlobStore
from vault.store.blobs import BlobStore
from vault.store.blobs3 import S3BlobStore
from vault.store.errors import BlobMissing

from tests.s3temp import bucket_url

MIB = 1024 * 1024


def text_corpus(size: int) -> bytes:
    """Bytes like an agent's outputs: log lines and JSON, which compress well."""
    lines = (
        b'{"step": %d, "tool": "search", "status": "ok", "note": "line %d of the run"}\n' % (n, n) for n in range(size)
    )
    return b"".join(lines)[:size]


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture(params=["filesystem", "s3"])
async def stores(request, tmp_path) -> AsyncIterator[Callable[[bool], BlobStore]]:
    """`stores(packing)`: an opened adapter over this test's one place, packing uploads or not."""
    if request.param == "s3":
        request.getfixturevalue("s3_env")
        url = bucket_url()
        build: Callable[[bool], BlobStore] = lambda packing: S3BlobStore(url, packing=packing)  # noqa: E731
    else:
        build = lambda packing: FilesystemBlobStore(tmp_path / "artifacts", packing=packing)  # noqa: E731
    opened: list[BlobStore] = []

    def make(packing: bool) -> BlobStore:
        store = build(packing)
        store.open()
        opened.append(store)
        return store

    yield make
    for store in opened:
        await store.close()


async def put(blobs: BlobStore, data: bytes, chunk: int = 100_000) -> tuple[str, bool, int]:
    """(sha256, packed, stored size) of an upload of `data`, placed."""
    async with blobs.upload() as upload:
        for start in range(0, len(data), chunk):
            await upload.write(data[start : start + chunk])
        stored = await upload.place()
        assert upload.info is not None and upload.packed is not None
        return upload.info.sha256, upload.packed, stored


async def read(blobs: BlobStore, sha: str, start: int, end: int) -> bytes:
    return b"".join([chunk async for chunk in blobs.read(sha, start, end)])


async def raw_blobs(blobs: BlobStore) -> list[str]:
    return [sha async for page in blobs.raw_blobs(1000) for sha in page]


async def test_compressible_content_is_kept_packed_and_read_back_byte_for_byte(stores):
    blobs = stores(True)
    data = text_corpus(3 * MIB + 12_345)
    sha, packed, stored = await put(blobs, data)
    assert (sha, packed) == (sha256(data), True)
    assert stored < len(data) / 5
    assert await blobs.size(sha) == len(data)
    assert await read(blobs, sha, 0, len(data)) == data
    assert blobs.contains(sha)
    assert await raw_blobs(blobs) == []


async def test_ranges_of_a_packed_blob_are_exact(stores):
    blobs = stores(True)
    data = text_corpus(3 * MIB + 777)
    sha, packed, _ = await put(blobs, data)
    assert packed
    size = len(data)
    ranges = [
        (0, 1),  # first byte
        (size - 1, size),  # last byte
        (CHUNK_BYTES - 1, CHUNK_BYTES + 1),  # across a frame boundary
        (CHUNK_BYTES, 2 * CHUNK_BYTES),  # exactly one frame
        (CHUNK_BYTES - 5, 3 * CHUNK_BYTES + 5),  # several frames, cut at both ends
        (size - 500, size),  # a suffix
        (3 * CHUNK_BYTES, size),  # the short last frame
        (size, size),  # nothing, at the end
        (0, size),
    ]
    for start, end in ranges:
        assert await read(blobs, sha, start, end) == data[start:end], (start, end)
    with pytest.raises(BlobMissing):
        await read(blobs, sha, 0, size + 1)


async def test_a_range_decompresses_only_the_frames_it_touches(stores, monkeypatch):
    blobs = stores(True)
    data = text_corpus(8 * MIB)
    sha, packed, _ = await put(blobs, data, chunk=MIB)
    assert packed
    unpacked_sizes = []
    real = blob_packing.unpack_frame

    def counting(frame: bytes, raw_size: int) -> bytes:
        unpacked_sizes.append(raw_size)
        return real(frame, raw_size)

    monkeypatch.setattr(blob_packing, "unpack_frame", counting)
    assert await read(blobs, sha, len(data) - 10, len(data)) == data[-10:]
    assert unpacked_sizes == [CHUNK_BYTES]


async def test_content_that_does_not_compress_is_kept_raw(stores):
    blobs = stores(True)
    # Random bytes (like a PNG or a zip's body), and a zstd file itself: packing would not pay.
    for data in (os.urandom(2 * MIB + 3), zstandard.ZstdCompressor().compress(os.urandom(MIB)), b"tiny"):
        sha, packed, stored = await put(blobs, data)
        assert (packed, stored) == (False, len(data))
        assert await read(blobs, sha, 0, len(data)) == data
    assert len(await raw_blobs(blobs)) == 3


async def test_a_raw_blob_in_the_seekable_format_is_never_taken_for_a_packed_one(stores):
    # The bytes of a packed blob, sent as an artifact of their own: kept and served as sent.
    packer = Packer()
    looks_packed = packer.feed(text_corpus(2 * MIB)) + packer.end()
    assert packer.packed
    sha, packed, _ = await put(stores(False), looks_packed)
    assert not packed
    reader = stores(True)
    assert await reader.size(sha) == len(looks_packed)
    assert await read(reader, sha, 0, len(looks_packed)) == looks_packed


async def test_compression_off_writes_raw_and_packed_blobs_stay_readable(stores):
    packing, plain = stores(True), stores(False)
    data = text_corpus(MIB + 10)
    sha, packed, stored = await put(plain, data)
    assert (packed, stored) == (False, len(data))
    other = text_corpus(2 * MIB)
    other_sha, other_packed, _ = await put(packing, other)
    assert other_packed
    # A store with packing off still reads what was packed, and one with packing on what was not.
    assert await read(plain, other_sha, 5, 2 * MIB) == other[5:]
    assert await read(packing, sha, 0, len(data)) == data


async def test_the_same_bytes_are_one_blob_whatever_form_they_are_kept_in(stores):
    plain, packing = stores(False), stores(True)
    data = text_corpus(MIB + 99)
    sha, _, raw_stored = await put(plain, data)
    # Uploaded again where packing is on: the raw blob is there, so nothing new is kept.
    again, packed, stored = await put(packing, data)
    assert (again, packed, stored) == (sha, True, raw_stored)
    assert await raw_blobs(packing) == [sha]
    assert packing.remove(sha)
    assert not packing.contains(sha)


async def test_a_packed_copy_beside_a_raw_blob_then_the_raw_one_dropped(stores):
    plain, packing = stores(False), stores(True)
    data = text_corpus(2 * MIB + 1)
    sha, _, _ = await put(plain, data)
    assert not packing.drop_raw(sha)  # no packed copy yet: the raw blob stays
    assert packing.contains(sha)
    async with packing.upload() as upload:
        await upload.write(data)
        stored = await upload.place(beside=True)
    assert stored < len(data)
    # Both forms there (a crash here leaves a readable blob): either is the same bytes.
    assert await read(packing, sha, 0, len(data)) == data
    assert await raw_blobs(packing) == [sha]
    assert packing.drop_raw(sha)
    assert await raw_blobs(packing) == []
    assert await read(plain, sha, 7, len(data)) == data[7:]
    assert [name async for page in packing.stored_before(float("inf"), 10) for name in page] == [sha]
    assert packing.remove(sha)
    assert not packing.contains(sha)


async def test_an_open_read_of_a_raw_blob_goes_on_after_it_is_packed(stores):
    plain, packing = stores(False), stores(True)
    data = text_corpus(3 * MIB)
    sha, _, _ = await put(plain, data)
    stream = packing.read(sha, 0, len(data))
    first = await anext(stream)
    async with packing.upload() as upload:
        await upload.write(data)
        await upload.place(beside=True)
    assert packing.drop_raw(sha)
    rest = b"".join([chunk async for chunk in stream])
    assert first + rest == data


async def test_packed_blobs_are_exported_as_kept_and_imported_back(stores, tmp_path: Path):
    packing = stores(True)
    data = text_corpus(MIB + 5)
    sha, _, stored = await put(packing, data)
    raw_sha, _, _ = await put(packing, os.urandom(1000))
    exported = packing.export([sha, raw_sha], tmp_path / "copy")
    assert (exported.copied, exported.size) == (2, stored + 1000)
    assert (tmp_path / "copy" / sha[:2] / f"{sha}.zst").is_file()
    assert packing.remove(sha) and packing.remove(raw_sha)
    assert packing.import_from(tmp_path / "copy") == 2
    assert await read(packing, sha, 0, len(data)) == data
    assert await raw_blobs(packing) == [raw_sha]
