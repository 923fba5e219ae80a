"""Store contract: artifact content, claimed by records and released with them."""

from __future__ import annotations

import asyncio
import hashlib

import pytest
from vault.store.errors import NotFound
from vault.store.interface import Store

from tests.store.conftest import new_session
from vault.inputs import NewArtifact
from vault.models import Artifact


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


async def create_with(store: Store, data: bytes, **fields) -> Artifact:
    async with store.blobs.upload() as upload:
        await upload.write(data)
        return await store.create_artifact(NewArtifact(name=fields.pop("name", "a"), **fields), content=upload)


def read_blob(store: Store, sha: str) -> bytes:
    with store.blobs.open_blob(sha) as handle:
        return handle.read()


async def test_content_fills_in_size_and_sha256(backend_store):
    artifact = await create_with(backend_store, b"hello bytes", content_type="text/plain")
    assert (artifact.size, artifact.sha256, artifact.content_type) == (11, sha256(b"hello bytes"), "text/plain")
    assert await backend_store.get_artifact(artifact.id) == artifact
    assert read_blob(backend_store, artifact.sha256) == b"hello bytes"


async def test_same_bytes_share_one_blob_until_the_last_record_goes(backend_store):
    first = await create_with(backend_store, b"same")
    second = await create_with(backend_store, b"same")
    assert first.sha256 == second.sha256
    await backend_store.delete_artifact(first.id)
    assert backend_store.blobs.contains(second.sha256)
    await backend_store.delete_artifact(second.id)
    assert not backend_store.blobs.contains(second.sha256)


async def test_session_delete_releases_its_blobs(backend_store):
    session = await new_session(backend_store)
    other = await new_session(backend_store)
    mine = await create_with(backend_store, b"mine", session_id=session.id)
    shared = await create_with(backend_store, b"shared", session_id=session.id)
    await create_with(backend_store, b"shared", session_id=other.id)
    await backend_store.delete_session(session.id)
    assert not backend_store.blobs.contains(mine.sha256)
    assert backend_store.blobs.contains(shared.sha256)


async def test_a_failed_create_keeps_no_blob(backend_store):
    with pytest.raises(NotFound):
        await create_with(backend_store, b"orphan", session_id="session_missing")
    assert not backend_store.blobs.contains(sha256(b"orphan"))


async def test_referenced_blobs_and_release(backend_store):
    kept = await create_with(backend_store, b"kept")
    async with backend_store.blobs.upload() as upload:
        await upload.write(b"unclaimed")
        await upload.place()
    unclaimed = sha256(b"unclaimed")
    assert await backend_store.referenced_blobs([kept.sha256, unclaimed, "0" * 64]) == {kept.sha256}
    assert await backend_store.release_blobs([kept.sha256, unclaimed]) == 1
    assert backend_store.blobs.contains(kept.sha256)
    assert not backend_store.blobs.contains(unclaimed)


async def test_uploads_and_deletes_of_the_same_bytes_never_lose_a_committed_blob(backend_store):
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
    assert read_blob(backend_store, sha256(data)) == data
    for artifact_id in survivors:
        await backend_store.delete_artifact(artifact_id)
    assert not backend_store.blobs.contains(sha256(data))
