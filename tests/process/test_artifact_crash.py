"""kill -9 in the middle of artifact uploads and deletes: no record without its bytes, and no stray bytes for long."""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
from pathlib import Path

import aiohttp
import pytest
from vault.jobs.artifacts import sweep_orphan_blobs
from vault.store.blobfs import FilesystemBlobStore
from vault.store.sqlite import SQLiteStore

from tests import store_settings

pytestmark = pytest.mark.slow

WORKERS = 8
KIB = 1024


def content(worker: int, n: int) -> bytes:
    # Every third artifact repeats bytes another worker also sends: deduplicated blobs are in the mix.
    key = f"shared {n % 5}" if n % 3 == 0 else f"own {worker} {n}"
    seed = hashlib.sha256(key.encode()).digest()
    return seed * ((64 + (n * 37) % 700) * KIB // len(seed))


async def upload_and_delete(http: aiohttp.ClientSession, url: str, worker: int, acked: list[str]) -> None:
    """Upload, and delete every other artifact, until the server goes away."""
    n = 0
    while True:
        data = content(worker, n)
        body = aiohttp.FormData()
        body.add_field("name", f"w{worker}-{n}.bin")
        body.add_field("file", data, filename="x.bin")
        try:
            async with http.post(f"{url}/storage/artifacts", data=body) as response:
                if response.status != 201:
                    return
                artifact = await response.json()
            assert artifact["sha256"] == hashlib.sha256(data).hexdigest()
            if n % 2:
                # Asked to go: whether the delete commits before the kill or not, both are fine.
                async with http.delete(f"{url}/storage/artifacts/{artifact['id']}") as response:
                    if response.status != 200:
                        return
            else:
                acked.append(artifact["id"])
        except (TimeoutError, aiohttp.ClientError):
            return
        n += 1


def records(db_path: str) -> dict[str, str]:
    with sqlite3.connect(db_path) as conn:
        return dict(conn.execute("SELECT id, sha256 FROM artifacts"))


async def test_kill_9_leaves_every_record_its_bytes(vault_process):
    vault = vault_process()
    await vault.start()
    acked: list[str] = []
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as http:
        workers = [asyncio.ensure_future(upload_and_delete(http, vault.url, w, acked)) for w in range(WORKERS)]
        async with asyncio.timeout(120):
            while len(acked) < 100:
                await asyncio.sleep(0.01)
        await asyncio.get_running_loop().run_in_executor(None, vault.kill)
        await asyncio.gather(*workers)

    stored = records(vault.db_path)
    assert set(acked) <= set(stored), "an acknowledged artifact was lost"
    blobs = FilesystemBlobStore(Path(vault.db_path).parent / "artifacts")
    for sha in set(stored.values()):
        # Read through the store: the bytes may be kept packed.
        kept = b"".join([chunk async for chunk in blobs.read(sha, 0, await blobs.size(sha))])
        assert hashlib.sha256(kept).hexdigest() == sha, "a record's bytes are missing or damaged"

    # What the crash left unclaimed is what the orphan sweep removes, and nothing else.
    store = SQLiteStore(vault.db_path, store_settings.SQLITE, blobs=blobs)
    await store.start()
    try:
        await sweep_orphan_blobs(store, max_age_seconds=-60)
    finally:
        await store.close()
    assert {sha async for page in blobs.stored_before(float("inf"), 1000) for sha in page} == set(stored.values())
    assert list(blobs.tmp_dir.iterdir()) == []
