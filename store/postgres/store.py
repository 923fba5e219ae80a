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
from vault.store import errors, positions
from vault.store.blobs import BlobStore
from vault.store.cache_port import CacheStore
from vault.store.core.commands import AddMessages, Command
from vault.store.core.copies import Check
from vault.store.core.events import EventFilter, FeedEvent
from vault.store.core.feed_cursor import EventBounds, event_id
from vault.store.core.sql_store import SqlStore
from vault.store.interface import IdempotencyClaim
from vault.store.positions import ReplicaStatus
from vault.store.postgres import appends, backup, blob_refs, events, idempotency, locks, migrations, reads
from vault.store.postgres.connection import (
    CONNECTION_ERRORS,
    SERVER_GONE,
    Pool,
    primary_dsn,
    redact,
    storable,
    translate,
)
from vault.store.postgres.listener import EventListener
from vault.store.postgres.operations import OPERATIONS
from vault.store.postgres.replicas import Replica, ReplicaSet, ReplicaUnusable
from vault.store.state_port import StateStore

from vault.queries import HistoryQuery
from vault.telemetry import PoolCollector, ReplicaCollector, StorageCollector, StoreCollector, Telemetry

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
    # VAULT_BODY_CACHE_MB: recent message bodies kept unpacked (vault.store.core.body_cache); 0: none.
    body_cache_bytes: int = 0
    # Standbys that serve reads (VAULT_DATABASE_REPLICA_URLS), and how long a read
    # waits for one to catch up before the primary serves it (VAULT_REPLICA_WAIT_MS).
    replica_dsns: tuple[str, ...] = ()
    replica_wait_seconds: float = 0.05


class PostgresStore(SqlStore):
    backend = "postgresql"
    tracks_positions = True
    _queries = reads
    _events = events
    # A backstop only: a NOTIFY from any instance wakes the feed (see listener.py).
    feed_poll_seconds = 2.0

    def __init__(
        self,
        dsn: str,
        settings: PostgresSettings,
        *,
        blobs: BlobStore,
        cache: CacheStore | None = None,
        state: StateStore | None = None,
    ) -> None:
        # Every connection that writes (the pool's, a job's lock, a backup's) goes to the primary.
        self.dsn = primary_dsn(dsn)
        # Artifact content: every instance must see the same blobs (one shared volume).
        super().__init__(
            blobs, cache, state, settings.max_document_bytes, settings.compression, settings.body_cache_bytes
        )
        self._timeout = settings.pool_timeout
        size, timeout, queue_max = settings.pool_size, settings.pool_timeout, settings.queue_max
        self._pool = Pool(self.dsn, size=size, timeout=timeout, queue_max=queue_max)
        self._replicas: ReplicaSet | None = None
        if settings.replica_dsns:
            replicas = [Replica(url, size=size, timeout=timeout, queue_max=queue_max) for url in settings.replica_dsns]
            self._replicas = ReplicaSet(replicas, settings.replica_wait_seconds)
        # The WAL position of this instance's latest commit: a replica serves this
        # instance's reads only once it has replayed that far.
        self.committed_lsn = 0
        self._primary_lsn: int | None = None  # the primary's position at the last scrape, for lag in bytes
        self.primary_reads = 0
        self._observer: Callable[[int, float], None] | None = None
        self._sizes: dict[str, int] = {}  # read at scrape time
        self._listener = EventListener(self.dsn, self.feed, settings.pool_timeout)
        # Shared by every feed read of this instance (see vault.store.postgres.events).
        self._settled = events.SettledHorizon()

    # -- lifecycle

    async def start(self) -> None:
        """Connect and migrate eagerly, so a bad URL fails here and not at the first request."""
        await self._open_blobs()
        try:
            await self._pool.open()
            async with self._pool.connection() as conn:
                self.applied_migrations = await migrations.migrate(conn, self.migration_progress)
            await self.load_dictionaries()
            if self._replicas is not None:
                await self._replicas.open()
            await self._start_feed()
            self._listener.start()
        except errors.StoreError:
            await self._close_pools()
            raise
        except (OSError, TimeoutError, ValueError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            # ValueError: asyncpg could not make sense of the URL.
            await self._close_pools()
            raise errors.StoreUnavailable(f"cannot open database {redact(self.dsn)}: {exc}") from exc

    async def _close_pools(self) -> None:
        await self._pool.close()
        if self._replicas is not None:
            await self._replicas.close()

    async def close(self) -> None:
        # Stopped without waiting, so that the store takes no new work from here on.
        self._listener.stop()
        self.feed.end()
        if not self._pool.closed:
            await self._flush_touches()
        await self._close_pools()
        await self._close_ports()
        await self._listener.close()
        await self.feed.close()

    async def ping(self) -> None:
        """The primary answers (and the ports); a replica down is reported by replicas(), not here."""
        await self._read_primary(reads.ping)
        await self._ping_ports()

    def replicas(self) -> list[ReplicaStatus]:
        if self._replicas is None:
            return []
        return self._replicas.statuses(self._primary_lsn)

    async def refresh_replicas(self) -> None:
        """Read every replica's position now (and the primary's, for the lag), as a scrape does."""
        if self._replicas is None:
            return
        try:
            self._primary_lsn = max(self.committed_lsn, await self._read_primary(reads.wal_position))
        except errors.StoreError as exc:
            log.debug("the primary's WAL position is not known: %s", exc)
        await self._replicas.refresh_all()

    def observe(self, telemetry: Telemetry) -> None:
        self._observe_ports(telemetry)
        self._observer = telemetry.observe_commit
        # No files to measure; the depth is callers waiting for a connection.
        telemetry.watch(StoreCollector(queue_depth=lambda: self._pool.waiting, files=dict, sizes=self._sizes.copy))
        telemetry.watch(PoolCollector(self._pool.counts))
        telemetry.watch(StorageCollector(self.last_storage_report))
        telemetry.read_at_scrape(self._measure_database)
        if self._replicas is not None:
            telemetry.watch(ReplicaCollector(self.replicas, lambda: self.primary_reads))
            telemetry.read_at_scrape(self.refresh_replicas)

    async def _measure_database(self) -> None:
        self._sizes["database"] = await self._read_primary(reads.database_size)

    async def _read_feed_events(self, after: str, limit: int, only: EventFilter) -> list[FeedEvent]:
        return await self._with_dictionaries(
            lambda: self._read_primary(events.read_events, self._settled, self._codec, after, limit, only)
        )

    async def event_bounds(self) -> EventBounds:
        return await self._read_primary(events.event_bounds, self._settled)

    def job_lock(self, job_id: str, min_gap: float | None = None) -> AbstractAsyncContextManager[bool]:
        return locks.job_lock(self.dsn, job_id, min_gap, self._timeout)

    async def _write(self, command: Command, claim: IdempotencyClaim | None = None) -> Any:
        """Run the command in its own transaction; answer only after COMMIT."""
        operation = OPERATIONS.get(type(command))
        if operation is None:
            raise TypeError(f"the store runs store commands only, not {command!r}")
        # An append without a claim is one statement, its own transaction (vault.store.postgres.appends).
        heads = appends.heads_within_limit(command) if claim is None and isinstance(command, AddMessages) else None
        async with self._pool.connection() as conn:
            for attempt in range(1, ATTEMPTS + 1):
                started = time.perf_counter()
                try:
                    with events.noting_ids() as taken:
                        if heads is not None:
                            value = await appends.add_messages(conn, command, heads)
                        else:
                            async with conn.transaction():
                                value = await self._apply(conn, operation, command, claim)
                    await self._note_commit(conn)
                except errors.StoreError:
                    raise
                except (asyncpg.DeadlockDetectedError, asyncpg.SerializationError) as exc:
                    if attempt == ATTEMPTS:
                        raise translate(exc) from exc
                    continue
                except asyncpg.ReadOnlySQLTransactionError as exc:
                    # 25006: this server is a standby now (a failover demoted it, or the URL
                    # names a standby first). New connections look for the primary again.
                    await self._pool.expire()
                    raise errors.StoreUnavailable(
                        "the database server no longer takes writes (a standby); looking for the primary"
                    ) from exc
                except SERVER_GONE as exc:
                    # The primary may be gone for good: connect afresh, which finds a promoted one.
                    await self._pool.expire()
                    raise translate(exc) from exc
                except asyncpg.PostgresError as exc:
                    # The statement failed (a value it cannot store, say); the connection is fine.
                    raise translate(exc) from exc
                except Exception as exc:  # a bug or an unencodable value: this write fails, the store goes on
                    log.exception("write %s failed", type(command).__name__)
                    raise translate(exc) from exc
                if self._observer is not None:
                    self._observer(1, time.perf_counter() - started)
                if taken.newest:
                    # This instance's own feed need not wait for the NOTIFY to come round.
                    self.feed.wake(event_id(taken.newest))
                    self._listener.announce(taken.newest)
                return value
        raise AssertionError("unreachable")

    async def _note_commit(self, conn: asyncpg.Connection) -> None:
        """Remember where the commit just made ends in the WAL, for this instance and its request.

        Read after COMMIT on the same connection: the commit record is then in
        the WAL, so the insert position is at or past its end. (Read before
        COMMIT it would fall short of the commit record. pg_current_wal_lsn(),
        the position written out, can also fall short of it where
        synchronous_commit is off, since such a commit returns before its record
        is written.) Other sessions' records may lie in between, so a replica may
        wait for a little more than this commit: a read waits, it never sees less.
        One round trip on a connection already held, no lock taken.
        """
        position = await reads.wal_insert_position(conn)
        if position > self.committed_lsn:
            self.committed_lsn = position
        request = positions.current()
        if request is not None:
            request.committed(position)

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
        """On a replica that has replayed what this read must see, else on the primary."""
        if self._replicas is not None:
            needed = self.committed_lsn
            request = positions.current()
            if request is not None and request.min_lsn > needed:
                needed = request.min_lsn
            replica = await self._replicas.choose(needed)
            if replica is not None:
                try:
                    return await replica.run(needed, query, *args)
                except ReplicaUnusable:
                    pass
            self.primary_reads += 1
        return await self._read_primary(query, *args)

    async def _read_primary(self, query: Callable[..., Awaitable[T]], *args: Any) -> T:
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
