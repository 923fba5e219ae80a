"""Store contract: artifact content, claimed by records, read back, and released with them."""

from __future__ import annotations

import asyncio
import hashlib
import os
import time

import pytest
from vault.store.blobs import artifacts_folder
from vault.store.errors import BlobMissing, NotFound
from vault.store.interface import Store
from vault.store.orphans import OrphanSweep

from tests.store.conftest import every_blob_kind, new_session
from vault.inputs import NewArtifact
from vault.models import Artifact

# Each test runs on every blob store adapter, under every backend.
blob_kind = every_blob_kind()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


async def create_with(store: Store, data: bytes, **fields) -> Artifact:
    async with store.upload_content() as upload:
        await upload.write(data)
        return await store.create_artifact(NewArtifact(name=fields.pop("name", "a"), **fields), content=upload)


async def read_content(store: Store, artifact: Artifact, start: int = 0, end: int | None = None) -> bytes:
    content = await store.artifact_content(artifact)
    async with content.range(start, content.size if end is None else end) as chunks:
        return b"".join([chunk async for chunk in chunks])


async def test_content_fills_in_size_and_sha256(backend_store):
    artifact = await create_with(backend_store, b"hello bytes", content_type="text/plain")
    assert (artifact.size, artifact.sha256, artifact.content_type) == (11, sha256(b"hello bytes"), "text/plain")
    assert await backend_store.get_artifact(artifact.id) == artifact
    assert await read_content(backend_store, artifact) == b"hello bytes"


async def test_same_bytes_share_one_blob_until_the_last_record_goes(backend_store, backend_blobs):
    first = await create_with(backend_store, b"same")
    second = await create_with(backend_store, b"same")
    assert first.sha256 == second.sha256
    await backend_store.delete_artifact(first.id)
    assert backend_blobs.contains(second.sha256)
    await backend_store.delete_artifact(second.id)
    assert not backend_blobs.contains(second.sha256)


async def test_session_delete_releases_its_blobs(backend_store, backend_blobs):
    session = await new_session(backend_store)
    other = await new_session(backend_store)
    mine = await create_with(backend_store, b"mine", session_id=session.id)
    shared = await create_with(backend_store, b"shared", session_id=session.id)
    await create_with(backend_store, b"shared", session_id=other.id)
    await backend_store.delete_session(session.id)
    assert not backend_blobs.contains(mine.sha256)
    assert backend_blobs.contains(shared.sha256)


async def test_a_failed_create_keeps_no_blob(backend_store, backend_blobs):
    with pytest.raises(NotFound):
        await create_with(backend_store, b"orphan", session_id="session_missing")
    assert not backend_blobs.contains(sha256(b"orphan"))


async def test_referenced_blobs_and_release(backend_store, backend_blobs):
    kept = await create_with(backend_store, b"kept")
    async with backend_store.upload_content() as upload:
        await upload.write(b"unclaimed")
        await upload.place()
    unclaimed = sha256(b"unclaimed")
    assert await backend_store.referenced_blobs([kept.sha256, unclaimed, "0" * 64]) == {kept.sha256}
    assert await backend_store.release_blobs([kept.sha256, unclaimed]) == 1
    assert backend_blobs.contains(kept.sha256)
    assert not backend_blobs.contains(unclaimed)


async def test_uploads_and_deletes_of_the_same_bytes_never_lose_a_committed_blob(backend_store, backend_blobs):
    # Rule: a committed record always has its bytes, however uploads and deletes of the same bytes interleave.
    data = b"contended bytes"

    async def cycle(rounds: int) -> list[str]:
        survivors = []
        for n in range(rounds):
            artifact = await create_with(backend_store, data)
            if n % 3:
                await backend_store.delete_artifact(artifact.id)
            else:
                survivors.append(artifact.id)
        return survivors

    results = await asyncio.gather(*(cycle(12) for _ in range(8)))
    survivors = [artifact_id for found in results for artifact_id in found]
    assert survivors
    assert await read_content(backend_store, await backend_store.get_artifact(survivors[0])) == data
    for artifact_id in survivors:
        await backend_store.delete_artifact(artifact_id)
    assert not backend_blobs.contains(sha256(data))


async def test_content_reads_any_range(backend_store):
    data = bytes(range(256)) * 20
    artifact = await create_with(backend_store, data)
    content = await backend_store.artifact_content(artifact)
    assert (content.sha256, content.size) == (artifact.sha256, len(data))
    assert await read_content(backend_store, artifact, 100, 4000) == data[100:4000]
    assert await read_content(backend_store, artifact, 5119, 5120) == data[-1:]
    assert await read_content(backend_store, artifact, 0, 0) == b""


async def test_content_of_an_artifact_deleted_after_its_record_was_read_is_not_found(backend_store):
    # Rule: a blob gone between the record read and the open means the artifact is gone (NotFound), not damage.
    artifact = await create_with(backend_store, b"deleted under the reader")
    await backend_store.delete_artifact(artifact.id)
    with pytest.raises(NotFound):
        await backend_store.artifact_content(artifact)


async def test_a_range_opened_after_the_delete_is_not_found(backend_store):
    artifact = await create_with(backend_store, b"deleted between size and open")
    content = await backend_store.artifact_content(artifact)
    await backend_store.delete_artifact(artifact.id)
    with pytest.raises(NotFound):
        async with content.range(0, content.size):
            pass


async def test_an_opened_range_is_read_to_its_end_after_a_delete(backend_store):
    data = b"x" * (3 * 1024 * 1024)
    artifact = await create_with(backend_store, data)
    content = await backend_store.artifact_content(artifact)
    async with content.range(0, content.size) as chunks:
        await backend_store.delete_artifact(artifact.id)
        assert b"".join([chunk async for chunk in chunks]) == data


async def test_a_record_whose_bytes_are_lost_reads_as_missing(backend_store, backend_blobs):
    artifact = await create_with(backend_store, b"lost from under its record")
    backend_blobs.remove(artifact.sha256)
    with pytest.raises(BlobMissing):
        await backend_store.artifact_content(artifact)


async def test_the_orphan_sweep_removes_only_unclaimed_blobs(backend_store, backend_blobs):
    kept = await create_with(backend_store, b"claimed")
    async with backend_store.upload_content() as upload:
        await upload.write(b"orphan")
        await upload.place()
    assert await backend_store.sweep_orphans(time.time() - 3600) == OrphanSweep(blobs=0, partials=0)
    assert await backend_store.sweep_orphans(time.time() + 60) == OrphanSweep(blobs=1, partials=0)
    assert backend_blobs.contains(kept.sha256)
    assert not backend_blobs.contains(sha256(b"orphan"))


async def test_backups_into_a_folder_keep_the_newest(backend_store, tmp_path):
    await create_with(backend_store, b"in every backup")
    folder = str(tmp_path / "backups")
    assert await backend_store.list_backups(folder) == []
    made = [(await backend_store.backup_into(folder, keep=2)).file for _ in range(3)]
    listed = await backend_store.list_backups(folder)
    assert [backup.file for backup in listed] == [made[2], made[1]]
    assert all(backup.size == os.path.getsize(backup.file) for backup in listed)
    assert not artifacts_folder(made[0]).exists()
    assert artifacts_folder(made[1]).is_dir() and artifacts_folder(made[2]).is_dir()
