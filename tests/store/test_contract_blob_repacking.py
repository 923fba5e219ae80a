"""`vault compress` on artifact blobs kept raw: packed beside, then the raw copy removed, readable throughout."""

from __future__ import annotations

import os

from vault.store.blob_repacking import pack_beside

from tests.store.conftest import every_blob_kind
from tests.store.test_contract_blob_packing import raw_blobs, text_corpus
from tests.store.test_contract_content import create_with, read_content

# Each test runs on every blob store adapter, under every backend.
blob_kind = every_blob_kind()
MIB = 1024 * 1024


async def test_old_raw_blobs_are_packed_and_read_the_same(backend_store, backend_blobs):
    # Written before packing existed (or while VAULT_COMPRESSION=off): kept raw.
    backend_store._blobs.packing = False
    text = text_corpus(2 * MIB + 333)
    noise = os.urandom(MIB + 1)
    old_text = await create_with(backend_store, text)
    old_noise = await create_with(backend_store, noise)
    backend_store._blobs.packing = True
    assert sorted(await raw_blobs(backend_blobs)) == sorted([old_text.sha256, old_noise.sha256])
    before = (await backend_store.storage_report(fresh=True)).artifacts
    assert (before.count, before.raw_bytes, before.stored_bytes) == (2, len(text) + len(noise), len(text) + len(noise))

    rewritten = await backend_store.compress_existing()

    assert rewritten["artifacts"] == 1
    # What does not compress stays raw; the text is packed alone.
    assert await raw_blobs(backend_blobs) == [old_noise.sha256]
    assert await read_content(backend_store, old_text) == text
    assert await read_content(backend_store, old_text, 2 * MIB - 1, 2 * MIB + 2) == text[2 * MIB - 1 : 2 * MIB + 2]
    assert await read_content(backend_store, old_noise) == noise
    assert (await backend_store.compress_existing())["artifacts"] == 0
    after = (await backend_store.storage_report(fresh=True)).artifacts
    assert after.raw_bytes == before.raw_bytes
    assert len(noise) < after.stored_bytes < len(noise) + len(text) / 5
    # Released with its record, in every form.
    await backend_store.delete_artifact(old_text.id)
    assert not backend_blobs.contains(old_text.sha256)


async def test_a_stop_between_the_packed_copy_and_the_raw_removal_leaves_it_readable(backend_store, backend_blobs):
    # Rule: a crash at any step of repacking leaves a readable artifact; the next run finishes the job.
    backend_store._blobs.packing = False
    text = text_corpus(MIB + 5)
    artifact = await create_with(backend_store, text)
    backend_store._blobs.packing = True
    assert await pack_beside(backend_blobs, artifact.sha256)  # the process dies before the raw copy goes
    assert await read_content(backend_store, artifact) == text
    assert await raw_blobs(backend_blobs) == [artifact.sha256]

    assert (await backend_store.compress_existing())["artifacts"] == 1

    assert await raw_blobs(backend_blobs) == []
    assert await read_content(backend_store, artifact) == text


async def test_a_raw_blob_released_while_being_packed_is_not_dropped_later(backend_store, backend_blobs):
    # The raw copy is removed only where the packed one still is, in order with releases.
    backend_store._blobs.packing = False
    artifact = await create_with(backend_store, text_corpus(MIB))
    backend_store._blobs.packing = True
    assert await pack_beside(backend_blobs, artifact.sha256)
    await backend_store.delete_artifact(artifact.id)  # both forms released
    again = await create_with(backend_store, text_corpus(MIB))  # placed anew (packed)
    assert not await backend_store._drop_raw(again.sha256, 1)  # no raw copy: nothing dropped
    assert await read_content(backend_store, again) == text_corpus(MIB)


async def test_storage_figures_count_artifact_bytes_as_sent_and_each_blob_once_as_kept(backend_store):
    text = text_corpus(MIB + 17)
    first = await create_with(backend_store, text)
    await create_with(backend_store, text)  # the same bytes: one blob
    noise = os.urandom(5000)
    await create_with(backend_store, noise)
    figures = (await backend_store.storage_report(fresh=True)).artifacts
    assert (figures.count, figures.raw_bytes) == (3, 2 * len(text) + len(noise))
    assert len(noise) < figures.stored_bytes < len(noise) + len(text) / 5
    await backend_store.delete_artifact(first.id)
    assert (await backend_store.storage_report(fresh=True)).artifacts.stored_bytes == figures.stored_bytes
