"""Opening SQLite connections, and running code on their threads.

aiosqlite gives each connection its own thread. A whole write batch or read
runs there as one plain function over the `sqlite3.Connection`, so a group
commit costs one thread hop rather than one per statement. aiosqlite has no
public call for that; `run_on_thread` is the one place that uses its
internal `_execute` (pinned to the version range in setup.cfg and exercised by
every test).
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite
from vault.store import errors

T = TypeVar("T")

BUSY_TIMEOUT_MS = 5000
SYNCHRONOUS_MODES = ("full", "normal")
# The writer checkpoints (PASSIVE, never waiting for readers) every 1000 pages
# of WAL; after a checkpoint the WAL is reused from its start and trimmed to
# this size, so it stays small once no reader holds an old snapshot.
WAL_AUTOCHECKPOINT_PAGES = 1000
JOURNAL_SIZE_LIMIT = 32 * 1024 * 1024


def connect_args(path: str) -> dict[str, Any]:
    """How to open `path`: read-only and immutable where SQLite could not open it otherwise.

    A WAL database needs its -wal and -shm files; after a clean stop they are
    gone, and in a folder that cannot be written (a read-only mount) SQLite
    cannot make them, so it cannot open the file at all. Nothing can write
    there either, so the file is opened as immutable: reads are served, and a
    write fails with SQLITE_READONLY (503 read_only).
    """
    folder = Path(path).resolve().parent
    if Path(f"{path}-wal").exists() or not Path(path).is_file() or os.access(folder, os.W_OK):
        return {"database": path}
    return {"database": f"{Path(path).resolve().as_uri()}?mode=ro&immutable=1", "uri": True}


class WriterConnection(sqlite3.Connection):
    """The writer's connection: it holds single messages' search words until its commands are done.

    FTS5 writes the rows it holds in memory out as a new segment at every
    SAVEPOINT, and the writer opens one per command: filed inside their
    commands, a batch of 30 single appends made 30 one-row segments, and
    merging them cost more than the rest of the append
    (vault.store.sqlite.search.file_deferred_words).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # (words, message id) of the open transaction's single appends.
        self.deferred_words: list[tuple[str, str]] = []


async def open_writer(
    path: str,
    synchronous: str,
    wal_autocheckpoint_pages: int = WAL_AUTOCHECKPOINT_PAGES,
    journal_size_limit: int = JOURNAL_SIZE_LIMIT,
) -> aiosqlite.Connection:
    await asyncio.to_thread(_open_once, path)
    target = connect_args(path)
    conn = await aiosqlite.connect(**target, isolation_level=None, factory=WriterConnection)
    try:
        read_only = target.get("uri", False)
        await run_on_thread(
            conn, _configure_writer, synchronous, wal_autocheckpoint_pages, journal_size_limit, read_only
        )
    except BaseException:
        await conn.close()
        raise
    return conn


def _open_once(path: str) -> None:
    """Open and close the file with the standard module first, so a path that cannot be a
    database fails here: aiosqlite reports a failed open from a thread that outlives the
    call, and at start-up that thread then meets a closed event loop (a traceback after
    the one clear line)."""
    conn = sqlite3.connect(**connect_args(path))
    try:
        conn.execute("PRAGMA schema_version")
    finally:
        conn.close()


async def open_reader(path: str) -> aiosqlite.Connection:
    conn = await aiosqlite.connect(**connect_args(path), isolation_level=None)
    await run_on_thread(conn, configure_reader)
    return conn


async def run_on_thread(conn: aiosqlite.Connection, fn: Callable[..., T], *args: Any) -> T:
    """Run `fn(sqlite3_connection, *args)` on the connection's own thread."""
    raw = conn._conn
    return await conn._execute(fn, raw, *args)


def _configure_writer(
    conn: sqlite3.Connection,
    synchronous: str,
    wal_autocheckpoint_pages: int,
    journal_size_limit: int,
    read_only: bool = False,
) -> None:
    # An immutable database reports no WAL, and takes no writes to need one.
    mode = conn.execute("PRAGMA journal_mode" if read_only else "PRAGMA journal_mode=WAL").fetchone()[0]
    if mode.lower() != "wal" and not read_only:
        raise errors.StoreUnavailable(f"the database cannot use WAL mode (it is in {mode} mode)")
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    conn.execute(f"PRAGMA synchronous={synchronous.upper()}")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute(f"PRAGMA wal_autocheckpoint={int(wal_autocheckpoint_pages)}")
    conn.execute(f"PRAGMA journal_size_limit={int(journal_size_limit)}")


def configure_reader(conn: sqlite3.Connection, busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> None:
    conn.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
    conn.execute("PRAGMA query_only=ON")


def translate(error: sqlite3.Error) -> errors.StoreError:
    """Turn a SQLite failure into the store error the HTTP layer knows."""
    name = getattr(error, "sqlite_errorname", "") or ""
    if name.startswith("SQLITE_FULL"):
        return errors.DiskFull("the disk is full")
    if name.startswith("SQLITE_READONLY"):
        return errors.StoreReadOnly("the database is read-only")
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        return errors.StoreBusy("the database is locked by another process")
    return errors.StoreUnavailable(f"database error: {name or type(error).__name__}")
