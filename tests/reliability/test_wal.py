"""The WAL stays bounded: checkpoints run on the writer, and no reader of ours pins it."""

from __future__ import annotations

import asyncio
import os
import sqlite3

from vault.store.sqlite import SQLiteStore

from tests import store_settings
from vault.inputs import NewMessage, NewSession
from vault.queries import HistoryQuery

CHECKPOINT_PAGES = 100  # about 400 KiB of WAL between checkpoints
SIZE_LIMIT = 512 * 1024
BOUND = 2 * 2**20


def wal_size(db_path: str) -> int:
    try:
        return os.path.getsize(f"{db_path}-wal")
    except FileNotFoundError:
        return 0


async def write_batches(store, session_id: str, batches: int) -> None:
    messages = [NewMessage(session_id=session_id, role="user", content="x" * 1000) for _ in range(10)]
    for _ in range(batches):
        await store.add_messages(session_id, messages)


async def read_while(store, session_id: str, done: asyncio.Event) -> int:
    reads = 0
    while not done.is_set():
        await store.list_message_bodies(HistoryQuery(session_id=session_id, limit=50))
        reads += 1
    return reads


async def wal_after_a_long_reader(db_path: str, **wal_settings) -> tuple[int, int]:
    """WAL size while an outside reader holds a snapshot, and after it lets go."""
    store = SQLiteStore(db_path, store_settings.SQLITE, **wal_settings)
    await store.start()
    try:
        session = await store.create_session(NewSession(agent_name="wal"))
        outside = sqlite3.connect(db_path, isolation_level=None)
        outside.execute("BEGIN")
        outside.execute("SELECT count(*) FROM messages").fetchone()  # holds a snapshot
        await write_batches(store, session.id, 300)
        pinned = wal_size(db_path)
        outside.execute("COMMIT")
        outside.close()
        # Our own readers run all along the next writes: they must not pin the WAL.
        done = asyncio.Event()
        reader = asyncio.ensure_future(read_while(store, session.id, done))
        await write_batches(store, session.id, 300)
        done.set()
        assert await reader > 0
        return pinned, wal_size(db_path)
    finally:
        await store.close()


async def test_wal_shrinks_back_once_the_reader_lets_go(tmp_path):
    pinned, after = await wal_after_a_long_reader(
        str(tmp_path / "vault.db"), wal_autocheckpoint_pages=CHECKPOINT_PAGES, journal_size_limit=SIZE_LIMIT
    )
    assert pinned > BOUND, "the outside reader should have kept the WAL from being reused"
    assert after <= BOUND


async def test_control_without_checkpoints_the_wal_keeps_growing(tmp_path):
    # Control: with checkpoints and the size limit off, the same run leaves a large WAL.
    _, after = await wal_after_a_long_reader(
        str(tmp_path / "vault.db"), wal_autocheckpoint_pages=0, journal_size_limit=-1
    )
    assert after > BOUND
