"""Locks on blobs, for claims and releases of blobs in a remote store, ordered without the writer.

With blobs on disk, the writer checks that a blob is present before the
record that claims it commits, and removes released blobs itself: each a few
microseconds, ordered with every commit by running there. A remote store's
check or removal is a network round trip (seconds, while the store does not
answer), and on the writer it would hold up every write of every kind. So
with a remote store, a claim and a release of a blob each take that blob's
lock instead and make their round trip outside the writer: a claim holds it
from its presence check until its record is committed; a release from its
check that no record refers to the blob until the blob is removed.
Whichever comes second sees what the first did, so a committed record never
loses its bytes.

Several processes may share one SQLite file (vault.store.sqlite.usage_lock),
so the lock is a byte of `<database>.blobs.lock` picked by the blob's hash
(a POSIX record lock, which orders processes) and, since such locks belong to
the whole process, an asyncio lock per byte within it. Taking the byte never
blocks a thread: it is tried, and tried again after a short sleep, so a
cancelled wait leaves nothing behind.
"""

from __future__ import annotations

import asyncio
import errno
import fcntl
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

# Blobs share a lock when their hashes agree on this many slots: a collision only makes one wait for the other.
SLOTS = 4096
RETRY_SECONDS = 0.002
RETRY_SECONDS_MAX = 0.05
HELD_ELSEWHERE = (errno.EACCES, errno.EAGAIN)


def lock_path(db_path: str | Path) -> Path:
    return Path(f"{db_path}.blobs.lock")


def slot_of(sha256: str) -> int:
    return int(sha256[:8], 16) % SLOTS


class BlobLocks:
    def __init__(self, db_path: str | Path) -> None:
        self._path = lock_path(db_path)
        self._fd: int | None = None
        self._in_process: dict[int, asyncio.Lock] = {}

    def open(self) -> None:
        self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o644)

    def close(self) -> None:
        # Closing the file gives back every byte this process holds on it.
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)

    @asynccontextmanager
    async def holding(self, sha256: str) -> AsyncIterator[None]:
        """Until the block ends, no other claim or release of this blob, in any process, runs."""
        if self._fd is None:
            raise RuntimeError("blob locks are not open")
        slot = slot_of(sha256)
        async with self._in_process.setdefault(slot, asyncio.Lock()):
            await self._take(slot)
            try:
                yield
            finally:
                fcntl.lockf(self._fd, fcntl.LOCK_UN, 1, slot)

    async def _take(self, slot: int) -> None:
        pause = RETRY_SECONDS
        while True:
            try:
                fcntl.lockf(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, slot)
                return
            except OSError as exc:
                if exc.errno not in HELD_ELSEWHERE:
                    raise
            await asyncio.sleep(pause)
            pause = min(pause * 2, RETRY_SECONDS_MAX)
