"""Read connections; in WAL mode reads never wait for the writer.

Two kinds: a pool of connections on their own threads, for every read that
decodes stored JSON or whose cost depends on the data, and one connection
used directly on the event loop's thread for history windows: a range scan
of at most 1,001 stored bodies that are sent as they are, never decoded.
That takes tens of microseconds, less than a hand-off to another thread and
back, which on one core also waits for the GIL.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from typing import Any, TypeVar

import aiosqlite
from vault.store.errors import StoreBusy, StoreClosed
from vault.store.sqlite.connection import configure_reader, connect_args, open_reader, run_on_thread

T = TypeVar("T")

# Reads waiting for a pooled connection past this many get 503, like writes
# past VAULT_QUEUE_MAX: no unbounded queue.
MAX_WAITING = 1000


class ReadPool:
    def __init__(self, path: str, size: int) -> None:
        self._path = path
        self._size = size
        self._idle: asyncio.Queue[aiosqlite.Connection] = asyncio.Queue()
        self._all: list[aiosqlite.Connection] = []
        self._inline: sqlite3.Connection | None = None
        self._closed = False
        self._waiting = 0

    async def open(self) -> None:
        for _ in range(self._size):
            conn = await open_reader(self._path)
            self._all.append(conn)
            self._idle.put_nowait(conn)
        self._inline = sqlite3.connect(**connect_args(self._path), isolation_level=None)
        # Never wait on the loop's thread: a busy database sends the read to the pool.
        configure_reader(self._inline, busy_timeout_ms=0)

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a read of any cost on a pooled connection's thread."""
        if self._closed:
            raise StoreClosed("the store is closed")
        if self._idle.empty() and self._waiting >= MAX_WAITING:
            raise StoreBusy("too many reads are waiting for a connection")
        self._waiting += 1
        try:
            conn = await self._idle.get()
        finally:
            self._waiting -= 1
        try:
            return await run_on_thread(conn, fn, *args)
        finally:
            self._idle.put_nowait(conn)

    async def run_bounded(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a read bounded by an index and a limit right here, on the loop's thread."""
        if self._closed or self._inline is None:
            raise StoreClosed("the store is closed")
        # Give the loop its turn first, as a hand-off to a thread would: a task
        # reading in a tight loop must not starve the writer and everyone else.
        await asyncio.sleep(0)
        try:
            return fn(self._inline, *args)
        except sqlite3.OperationalError as exc:
            if not (getattr(exc, "sqlite_errorname", "") or "").startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
                raise
            if self._inline.in_transaction:
                self._inline.execute("ROLLBACK")
        return await self.run(fn, *args)

    async def close(self) -> None:
        self._closed = True
        for conn in self._all:
            await conn.close()
        self._all.clear()
        if self._inline is not None:
            self._inline.close()
            self._inline = None
