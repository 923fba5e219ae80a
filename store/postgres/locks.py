"""Advisory locks: one migrator at a time, and each scheduled job once across instances.

A job run takes a session-level advisory lock on a connection of its own,
opened for the run and closed after it: the lock lives exactly as long as
that connection, so a crashed instance never leaves a job locked, and the
run never holds one of the request pool's connections. Under the lock the
job's row in job_runs says when any instance last started it; a run that
comes sooner than `min_gap` seconds after that is skipped, which makes a job
run once per interval across instances rather than once per instance.
"""

from __future__ import annotations

import contextlib
import zlib
from collections.abc import AsyncIterator

import asyncpg
from vault.store.postgres.connection import APPLICATION_NAME, translate

# Advisory lock keys are (namespace, key) pairs of 32-bit integers.
NAMESPACE = 0x5641554C  # "VAUL"
MIGRATION_LOCK = 0
JOB_NAMESPACE = NAMESPACE + 1
# (NAMESPACE + 2 and + 3 are blob locks, vault.store.postgres.blob_refs.)
# A scope of app or user state, whose first write has no row to lock.
SCOPED_STATE_NAMESPACE = NAMESPACE + 4

# Database time, so the instances' clocks need not agree.
CLAIM_RUN = """
INSERT INTO job_runs (job_id, started_at) VALUES ($1, now())
ON CONFLICT (job_id) DO UPDATE SET started_at = excluded.started_at
WHERE job_runs.started_at <= excluded.started_at - make_interval(secs => $2)
RETURNING started_at
"""


def job_key(job_id: str) -> int:
    """A stable signed 32-bit key for a job id."""
    value = zlib.crc32(job_id.encode("utf-8"))
    return value - 2**32 if value >= 2**31 else value


@contextlib.asynccontextmanager
async def job_lock(dsn: str, job_id: str, min_gap: float | None, timeout: float) -> AsyncIterator[bool]:
    try:
        conn = await asyncpg.connect(dsn, timeout=timeout, server_settings={"application_name": APPLICATION_NAME})
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        raise translate(exc) from exc
    try:
        try:
            acquired = await conn.fetchval("SELECT pg_try_advisory_lock($1, $2)", JOB_NAMESPACE, job_key(job_id))
            due = acquired and await conn.fetchval(CLAIM_RUN, job_id, float(min_gap or 0)) is not None
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise translate(exc) from exc
        yield bool(due)
    finally:
        # Closing the session releases its advisory lock.
        await conn.close()
