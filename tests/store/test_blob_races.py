"""The orderings that keep a committed record's bytes: releases against commits, backups against releases."""

from __future__ import annotations

import asyncio
import hashlib

import pytest
from vault.store.blob_gate import ReleaseGate
from vault.store.content import ContentKeeper
from vault.store.core.commands import CreateArtifact
from vault.store.errors import BlobMissing

from vault.inputs import NewArtifact


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


async def test_the_commit_refuses_a_record_whose_blob_is_gone(store):
    async with store.upload_content() as upload:
        await upload.write(b"gone")
        info = await upload.finish()  # never placed
        with pytest.raises(BlobMissing):
            await store._write(CreateArtifact(NewArtifact(name="x"), info, store._blobs.contains))
    assert not store._blobs.contains(info.sha256)


async def test_a_release_between_place_and_commit_is_undone_by_placing_again(store):
    # Rule: an upload whose blob a racing release removed puts it back before its record commits.
    keeper = ContentKeeper(store._blobs, store.release_blobs)
    new = NewArtifact(name="raced")
    attempts = []

    async def commit(info):
        attempts.append(info)
        if len(attempts) == 1:
            # A delete of another artifact with these bytes releases them right here.
            assert await store.release_blobs([info.sha256]) == 1
        return await store._write(CreateArtifact(new, info, store._blobs.contains))

    async with store.upload_content() as upload:
        await upload.write(b"raced bytes")
        artifact = await keeper.commit_with(upload, commit)
    assert len(attempts) == 2
    assert artifact.sha256 == sha256(b"raced bytes")
    assert store._blobs.path(artifact.sha256).read_bytes() == b"raced bytes"


async def test_releases_wait_while_a_backup_holds_the_gate(store):
    async with store.upload_content() as upload:
        await upload.write(b"held")
        artifact = await store.create_artifact(NewArtifact(name="held"), content=upload)
    held = asyncio.Event()
    go_on = asyncio.Event()

    async def backup_like() -> None:
        async with store._content.releases_held():
            held.set()
            await go_on.wait()

    task = asyncio.ensure_future(backup_like())
    await held.wait()
    await store.delete_artifact(artifact.id)
    assert store._blobs.contains(artifact.sha256), "removed while a backup was copying blobs"
    go_on.set()
    await task
    assert not store._blobs.contains(artifact.sha256)


async def test_a_hold_waits_for_releases_under_way():
    gate = ReleaseGate()
    order = []
    releasing = asyncio.Event()
    finish = asyncio.Event()

    async def release() -> None:
        async with gate.releasing(["a" * 64]) as now:
            assert now == ["a" * 64]
            releasing.set()
            await finish.wait()
            order.append("released")

    async def hold() -> None:
        async with gate.held():
            order.append("held")

    releaser = asyncio.ensure_future(release())
    await releasing.wait()
    holder = asyncio.ensure_future(hold())
    await asyncio.sleep(0)
    assert order == []
    finish.set()
    await asyncio.gather(releaser, holder)
    assert order == ["released", "held"]


async def test_releases_during_a_hold_are_deferred_then_handed_back():
    gate = ReleaseGate()
    async with gate.held():
        async with gate.releasing(["b" * 64, "a" * 64]) as now:
            assert now == []
        assert gate.take_deferred() == []  # still held
    assert gate.take_deferred() == ["a" * 64, "b" * 64]
    assert gate.take_deferred() == []
