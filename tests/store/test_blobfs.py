"""The filesystem blob store: uploads, placing, limits, listing, export and import."""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
from pathlib import Path

import pytest
from vault.store.blobfs import FilesystemBlobStore
from vault.store.errors import BlobMissing, ContentTooLarge, StoreUnavailable
from vault.store.sqlite import SQLiteStore

from tests import store_settings


@pytest.fixture
def blobs(tmp_path) -> FilesystemBlobStore:
    store = FilesystemBlobStore(tmp_path / "artifacts")
    store.open()
    return store


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def partials(blobs: FilesystemBlobStore) -> list[str]:
    return sorted(os.listdir(blobs.tmp_dir))


async def listed_before(blobs: FilesystemBlobStore, cutoff: float) -> list[str]:
    return [sha async for page in blobs.stored_before(cutoff, 1000) for sha in page]


async def put(blobs: FilesystemBlobStore, data: bytes) -> str:
    async with blobs.upload() as upload:
        for start in range(0, len(data), 7000):
            await upload.write(data[start : start + 7000])
        await upload.place()
        assert upload.info is not None
        return upload.info.sha256


async def test_an_upload_is_hashed_placed_and_its_partial_removed(blobs):
    data = os.urandom(3 * 1024 * 1024 + 17)
    sha = await put(blobs, data)
    assert sha == sha256(data)
    assert blobs.path(sha).read_bytes() == data
    assert blobs.path(sha).parent.name == sha[:2]
    assert partials(blobs) == []


async def test_a_placed_blob_can_be_placed_again_after_removal(blobs):
    async with blobs.upload() as upload:
        await upload.write(b"again")
        await upload.place()
        sha = upload.info.sha256
        assert blobs.remove(sha)
        assert not blobs.contains(sha)
        await upload.place()
        assert blobs.path(sha).read_bytes() == b"again"


async def test_a_damaged_blob_is_replaced_by_the_true_bytes(blobs):
    sha = await put(blobs, b"the true bytes")
    blobs.path(sha).write_bytes(b"trunc")
    assert await put(blobs, b"the true bytes") == sha
    assert blobs.path(sha).read_bytes() == b"the true bytes"


async def test_past_the_limit_nothing_is_left(blobs):
    with pytest.raises(ContentTooLarge):
        async with blobs.upload(limit=10) as upload:
            await upload.write(b"12345")
            await upload.write(b"123456")
    assert partials(blobs) == []
    assert await listed_before(blobs, time.time() + 60) == []


async def test_exactly_the_limit_is_accepted(blobs):
    async with blobs.upload(limit=10) as upload:
        await upload.write(b"1234567890")
        assert (await upload.finish()).size == 10


async def test_an_unplaced_upload_leaves_nothing(blobs):
    async with blobs.upload() as upload:
        await upload.write(b"never placed")
        await upload.finish()
    assert partials(blobs) == []
    assert not blobs.contains(sha256(b"never placed"))


@pytest.mark.parametrize("name", ["../../etc/passwd", "ab", "A" * 64, "/" + "a" * 63, "g" * 64])
def test_only_sha256_names_become_paths(blobs, name):
    with pytest.raises(ValueError):
        blobs.path(name)


async def test_stored_before_and_partials_before(blobs):
    old = await put(blobs, b"old")
    young = await put(blobs, b"young")
    an_hour_ago = time.time() - 3600
    os.utime(blobs.path(old), (an_hour_ago - 10, an_hour_ago - 10))
    stale = blobs.tmp_dir / "stale.partial"
    stale.write_bytes(b"x")
    os.utime(stale, (an_hour_ago - 10, an_hour_ago - 10))
    fresh = blobs.tmp_dir / "fresh.partial"
    fresh.write_bytes(b"y")
    assert await listed_before(blobs, an_hour_ago) == [old]
    assert young in set(await listed_before(blobs, time.time() + 60))
    assert await blobs.remove_partials_before(an_hour_ago) == 1
    assert partials(blobs) == ["fresh.partial"]


async def test_export_and_import(blobs, tmp_path):
    first = await put(blobs, b"first")
    second = await put(blobs, b"second")
    exported = blobs.export([first, second, "0" * 64], tmp_path / "copy")
    assert (exported.copied, exported.size, exported.missing) == (2, 11, ("0" * 64,))
    # Hard links: the copy costs no space and survives removal of the original.
    assert os.stat(tmp_path / "copy" / first[:2] / first).st_ino == blobs.path(first).stat().st_ino
    blobs.remove(first)
    elsewhere = FilesystemBlobStore(tmp_path / "elsewhere")
    elsewhere.open()
    assert elsewhere.import_from(tmp_path / "copy") == 2
    assert elsewhere.path(first).read_bytes() == b"first"
    assert elsewhere.import_from(tmp_path / "copy") == 0


def test_open_fails_on_a_folder_it_cannot_write(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_bytes(b"")
    with pytest.raises(OSError):
        FilesystemBlobStore(blocker / "artifacts").open()


async def test_the_store_does_not_start_without_a_usable_artifact_folder(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_bytes(b"")
    store = SQLiteStore(
        str(tmp_path / "vault.db"), store_settings.SQLITE, blobs=FilesystemBlobStore(blocker / "artifacts")
    )
    with pytest.raises(StoreUnavailable, match="artifact folder"):
        await store.start()


async def test_export_to_another_filesystem_copies(blobs, tmp_path):
    other = Path("/dev/shm")
    if not other.is_dir() or os.stat(other).st_dev == os.stat(tmp_path).st_dev:
        pytest.skip("no second filesystem to export to")
    sha = await put(blobs, b"across filesystems")
    with tempfile.TemporaryDirectory(dir=other) as folder:
        exported = blobs.export([sha], Path(folder))
        assert (exported.copied, exported.missing) == (1, ())
        copy = Path(folder) / sha[:2] / sha
        assert copy.read_bytes() == b"across filesystems"
        assert os.stat(copy).st_ino != blobs.path(sha).stat().st_ino
        assert [path.name for path in (Path(folder) / sha[:2]).iterdir()] == [sha]


async def test_a_damaged_packed_blob_is_missing_not_wrong_and_an_upload_repairs_it(blobs):
    data = b"a line of a log that packs well\n" * 50_000
    sha = await put(blobs, data)
    packed = blobs.packed_path(sha)
    assert packed.is_file() and not blobs.path(sha).exists()
    packed.write_bytes(packed.read_bytes()[:-3])  # its seek table cut short
    with pytest.raises(BlobMissing):
        await blobs.size(sha)
    with pytest.raises(BlobMissing):
        [chunk async for chunk in blobs.read(sha, 0, 10)]
    assert await put(blobs, data) == sha  # the true bytes go over the damaged copy
    assert await blobs.size(sha) == len(data)
    assert b"".join([chunk async for chunk in blobs.read(sha, len(data) - 5, len(data))]) == data[-5:]
