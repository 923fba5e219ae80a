"""PostgresStore: the shared SQL store core over an asyncpg pool, for several instances on one database.

There is no actor here: each write is one transaction on a pooled connection,
and PostgreSQL serializes what must be serial (see vault.store.postgres.writes).
The observable contract is the SQLite backend's: a write returns only after
its COMMIT, errors are the same store errors, and a closed store refuses
work with StoreClosed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any, TypeVar

import asyncpg
from attrs import frozen
from vault.store import errors
from vault.store.blobs import BlobStore
from vault.store.cache_port import CacheStore
from vault.store.core.commands import Command
from vault.store.core.copies import Check
from vault.store.core.sql_store import SqlStore
from vault.store.interface import IdempotencyClaim
from vault.store.postgres import backup, blob_refs, idempotency, locks, migrations, reads
from vault.store.postgres.connection import CONNECTION_ERRORS, Pool, redact, storable, translate
from vault.store.postgres.operations import OPERATIONS
from vault.store.state_port import StateStore

from vault.queries import HistoryQuery
from vault.telemetry import PoolCollector, StorageCollector, StoreCollector, Telemetry

log = logging.getLogger(__name__)
T = TypeVar("T")

# A deadlock or serialization failure is PostgreSQL asking for a retry.
ATTEMPTS = 3


@frozen(kw_only=True)
class PostgresSettings:
    """The tuning a PostgreSQL store takes from vault.config.Config, which holds every default."""

    pool_size: int
    pool_timeout: float
    queue_max: int
    # Largest stored document once merged (VAULT_MAX_DOCUMENT_BYTES); None: unbounded.
    max_document_bytes: int | None = None
    # VAULT_COMPRESSION: documents kept zstd-compressed where that saves space.
    compression: bool = True


class PostgresStore(SqlStore):
    backend = "postgresql"
    _queries = reads

    def __init__(
        self,
        dsn: str,
        settings: PostgresSettings,
        *,
        blobs: BlobStore,
        cache: CacheStore | None = None,
        state: StateStore | None = None,
    ) -> None:
        self.dsn = dsn
        # Artifact content: every instance must see the same blobs (one shared volume).
        super().__init__(blobs, cache, state, settings.max_document_bytes, settings.compression)
        self._timeout = settings.pool_timeout
        self._pool = Pool(dsn, size=settings.pool_size, timeout=settings.pool_timeout, queue_max=settings.queue_max)
        self._observer: Callable[[int, float], None] | None = None
        self._sizes: dict[str, int] = {}  # read at scrape time

    # -- lifecycle

    async def start(self) -> None:
        """Connect and migrate eagerly, so a bad URL fails here and not at the first request."""
        await self._open_blobs()
        try:
            await self._pool.open()
            async with self._pool.connection() as conn:
                self.applied_migrations = await migrations.migrate(conn, self.migration_progress)
            await self.load_dictionaries()
        except errors.StoreError:
            await self._pool.close()
            raise
        except (OSError, TimeoutError, ValueError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            # ValueError: asyncpg could not make sense of the URL.
            await self._pool.close()
            raise errors.StoreUnavailable(f"cannot open database {redact(self.dsn)}: {exc}") from exc

    async def close(self) -> None:
        if not self._pool.closed:
            await self._flush_touches()
        await self._pool.close()
        await self._close_ports()

    async def ping(self) -> None:
        await self._read(reads.ping)
        await self._ping_ports()

    def observe(self, telemetry: Telemetry) -> None:
        self._observe_ports(telemetry)
        self._observer = telemetry.observe_commit
        # No files to measure; the depth is callers waiting for a connection.
        telemetry.watch(StoreCollector(queue_depth=lambda: self._pool.waiting, files=dict, sizes=self._sizes.copy))
        telemetry.watch(PoolCollector(self._pool.counts))
        telemetry.watch(StorageCollector(self.last_storage_report))
        telemetry.read_at_scrape(self._measure_database)

    async def _measure_database(self) -> None:
        self._sizes["database"] = await self._read(reads.database_size)

    def job_lock(self, job_id: str, min_gap: float | None = None) -> AbstractAsyncContextManager[bool]:
        return locks.job_lock(self.dsn, job_id, min_gap, self._timeout)

    async def _write(self, command: Command, claim: IdempotencyClaim | None = None) -> Any:
        """Run the command in its own transaction; answer only after COMMIT."""
        operation = OPERATIONS.get(type(command))
        if operation is None:
            raise TypeError(f"the store runs store commands only, not {command!r}")
        async with self._pool.connection() as conn:
            for attempt in range(1, ATTEMPTS + 1):
                started = time.perf_counter()
                try:
                    async with conn.transaction():
                        value = await self._apply(conn, operation, command, claim)
                except errors.StoreError:
                    raise
                except (asyncpg.DeadlockDetectedError, asyncpg.SerializationError) as exc:
                    if attempt == ATTEMPTS:
                        raise translate(exc) from exc
                    continue
                except (*CONNECTION_ERRORS, TimeoutError) as exc:
                    raise translate(exc) from exc
                except Exception as exc:  # a bug or an unencodable value: this write fails, the store goes on
                    log.exception("write %s failed", type(command).__name__)
                    raise translate(exc) from exc
                if self._observer is not None:
                    self._observer(1, time.perf_counter() - started)
                return value
        raise AssertionError("unreachable")

    @staticmethod
    async def _apply(
        conn: asyncpg.Connection, operation: Callable[..., Awaitable[Any]], command: Command, claim: Any
    ) -> Any:
        if claim is None:
            return await operation(conn, command)
        replay = await idempotency.claim(conn, claim)
        if replay is not None:
            return replay
        value = await operation(conn, command)
        await idempotency.record(conn, claim, value)
        return value

    async def _read(self, query: Callable[..., Awaitable[T]], *args: Any) -> T:
        async with self._pool.connection() as conn:
            try:
                return await query(conn, *args)
            except (*CONNECTION_ERRORS, TimeoutError) as exc:
                raise translate(exc) from exc

    def _takes_writes(self) -> bool:
        return not self._pool.closed

    def _known(self, kind: str, key: str) -> None:
        if not storable(key):
            raise errors.NotFound(kind, key)

    def _storable(self, *values: str | None) -> bool:
        return all(value is None or storable(value) for value in values)

    def _history_can_match(self, query: HistoryQuery) -> bool:
        self._known("session", query.session_id)
        for name in ("after", "before"):
            ref = getattr(query, name)
            if ref is not None and not storable(ref):
                raise errors.InvalidReference(["query", name], f"{ref!r} names no message of this session")
        return self._storable(query.role)

    async def _snapshot(self, target: str, progress: Any) -> Check:
        """A SQLite file holding one consistent snapshot of this database (see vault.store.postgres.backup)."""
        return await backup.snapshot_to_sqlite(self.dsn, target, progress)

    def _blobs_held_elsewhere(self) -> AbstractAsyncContextManager[None]:
        if self._pool.closed:
            raise errors.StoreClosed("the store is closed")
        return blob_refs.gate_held(self.dsn, self._timeout)
