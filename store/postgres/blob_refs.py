"""Which blobs artifact records claim, ordered across instances by advisory locks.

SQLite orders "commit a record if its blob is present" and "remove a blob no
record references" by running both on its one writer. Here several instances
may share one blob folder, so both take a transaction-scoped advisory lock on
the blob's sha256 first: whichever comes second sees what the first committed
(READ COMMITTED reads afresh after the lock), and a committed record never
loses its blob.

A backup holds the blob gate exclusively while it copies blobs; a release on
any instance that finds it held removes nothing, and the orphan sweep
removes those blobs later.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import asyncpg
from vault.store.core.commands import DropRawBlob, ReleaseBlobs
from vault.store.postgres.connection import APPLICATION_NAME, translate
from vault.store.postgres.locks import NAMESPACE

BLOB_NAMESPACE = NAMESPACE + 2
BLOB_GATE = NAMESPACE + 3


def blob_key(sha256: str) -> int:
    """A signed 32-bit key from the hash's first hex digits; a collision only serializes more."""
    value = int(sha256[:8], 16)
    return value - 2**32 if value >= 2**31 else value


async def lock_blob(conn: asyncpg.Connection, sha256: str) -> None:
    """Until this transaction ends, no other transaction claims or releases this blob."""
    await conn.execute("SELECT pg_advisory_xact_lock($1, $2)", BLOB_NAMESPACE, blob_key(sha256))


async def release_blobs(conn: asyncpg.Connection, command: ReleaseBlobs) -> int:
    """Remove each blob no artifact references; return how many were removed."""
    if not await conn.fetchval("SELECT pg_try_advisory_xact_lock_shared($1, 0)", BLOB_GATE):
        return 0  # a backup is copying blobs; the sweep removes these later
    removed = 0
    for sha256 in sorted(command.sha256s):
        await lock_blob(conn, sha256)
        claimed = await conn.fetchval("SELECT 1 FROM artifacts WHERE sha256 = $1 LIMIT 1", sha256)
        if claimed is None and await asyncio.to_thread(command.remove, sha256):
            removed += 1
    return removed


async def drop_raw_blob(conn: asyncpg.Connection, command: DropRawBlob) -> bool:
    """Remove the blob's raw form if its packed copy is there, under the blob's lock (claims and releases take it)."""
    await lock_blob(conn, command.sha256)
    if not await asyncio.to_thread(command.drop, command.sha256):
        return False
    await conn.execute("UPDATE artifacts SET stored_size = $1 WHERE sha256 = $2", command.stored_size, command.sha256)
    return True


@contextlib.asynccontextmanager
async def gate_held(dsn: str, timeout: float) -> AsyncIterator[None]:
    """Hold the blob gate on a connection of its own, for as long as a backup copies blobs."""
    try:
        conn = await asyncpg.connect(dsn, timeout=timeout, server_settings={"application_name": APPLICATION_NAME})
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        raise translate(exc) from exc
    try:
        try:
            await conn.execute("SELECT pg_advisory_lock($1, 0)", BLOB_GATE)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise translate(exc) from exc
        yield
    finally:
        # Closing the session releases the lock.
        await conn.close()
