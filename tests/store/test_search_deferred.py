"""Single appends' search words are filed once per writer batch, after its commands (SQLite).

FTS5 writes its pending rows out as a segment at every SAVEPOINT, so the writer
keeps single messages' words on its connection and files them after the last
command of the batch, in the same transaction (vault.store.sqlite.search).
Each is then still found as soon as its append is answered, and never for a
message the batch removed again.
"""

from __future__ import annotations

import asyncio
import sqlite3

from vault.store.sqlite import SQLiteStore, search

from tests import store_settings
from tests.store.conftest import add_texts, new_session
from tests.store.test_search_rowids import contents


async def started(tmp_path) -> tuple[SQLiteStore, str]:
    path = str(tmp_path / "vault.db")
    store = SQLiteStore(path, store_settings.SQLITE)
    await store.start()
    return store, path


def orphan_rows(path: str) -> int:
    with sqlite3.connect(path) as conn:
        return conn.execute(
            "SELECT count(*) FROM message_search WHERE rowid NOT IN (SELECT rowid FROM messages)"
        ).fetchone()[0]


# Rule: single appends answered together, in one commit, are each found by their own words.
async def test_single_appends_of_one_commit_are_each_found(tmp_path):
    store, path = await started(tmp_path)
    try:
        sessions = [await new_session(store) for _ in range(40)]
        before = store.write_stats.largest_batch
        await asyncio.gather(*(add_texts(store, s.id, f"note{i} shared") for i, s in enumerate(sessions)))
        # They were queued together: the batch held many of them, so the words waited for its end.
        assert store.write_stats.largest_batch > max(before, 10)

        for index in range(40):
            assert await contents(store, f"note{index}") == [f"note{index} shared"]
        assert len(await contents(store, "shared")) == 40
        assert orphan_rows(path) == 0
    finally:
        await store.close()


# Rule: when a commit's single appends are more than one lookup of rowids takes, every one of
# them is still found, under its own message.
async def test_single_appends_looked_up_in_several_parts_are_each_found(tmp_path, monkeypatch):
    monkeypatch.setattr(search, "LOOKUP_CHUNK", 3)
    store, path = await started(tmp_path)
    try:
        sessions = [await new_session(store) for _ in range(20)]
        await asyncio.gather(*(add_texts(store, s.id, f"fig{i} orchard") for i, s in enumerate(sessions)))
        assert store.write_stats.batch_sizes[-1] > 3  # one commit held more than one lookup's worth

        for index in range(20):
            assert await contents(store, f"fig{index}") == [f"fig{index} orchard"]
        assert len(await contents(store, "orchard")) == 20
        assert orphan_rows(path) == 0
    finally:
        await store.close()


# Rule: a message appended and removed again in the same commit (its session deleted) leaves no
# search row, and a later message that takes its rowid is not found by its words.
async def test_a_message_removed_in_its_own_commit_leaves_no_search_row(tmp_path):
    store, path = await started(tmp_path)
    try:
        keep, doomed = await new_session(store), await new_session(store)
        await asyncio.gather(add_texts(store, doomed.id, "quince vanished"), store.delete_session(doomed.id))
        assert store.write_stats.batch_sizes[-1] == 2  # one commit: the append, then the deletion
        assert orphan_rows(path) == 0
        assert await contents(store, "quince") == []

        await add_texts(store, keep.id, "plum stays")
        assert await contents(store, "quince") == []
        assert await contents(store, "plum") == ["plum stays"]
    finally:
        await store.close()
