"""Cache reads are recorded in accessed_at, a second's reads in one write."""

from __future__ import annotations

import asyncio
import sqlite3

from vault.inputs import CacheWrite


def stored_accessed_at(db_path: str, key: str) -> str:
    with sqlite3.connect(db_path) as conn:
        return conn.execute("SELECT accessed_at FROM cache WHERE key = ?", (key,)).fetchone()[0]


async def test_reads_reach_accessed_at(store, db_path):
    written = await store.cache_set("k", CacheWrite(value=1))
    commits_before = store.write_stats.commits
    reads = [await store.cache_get("k") for _ in range(50)]
    last_read = reads[-1].accessed_at
    # Wait for the writer to count the flush's commit, not for its row: another
    # connection sees the row at COMMIT, before the writer has counted it.
    async with asyncio.timeout(30):
        while store.write_stats.commits == commits_before:
            await asyncio.sleep(0.05)
    assert stored_accessed_at(db_path, "k") == last_read
    assert last_read > written.accessed_at
    # Fifty reads, one write to record them.
    assert store.write_stats.commits - commits_before == 1
