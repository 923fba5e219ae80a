"""PostgresStore: the store interface over an asyncpg pool, for several instances on one database.

There is no actor here: each write is one transaction on a pooled connection,
and PostgreSQL serializes what must be serial (see vault.store.postgres.writes).
The observable contract is the SQLite backend's: a write returns only after
its COMMIT, errors are the same store errors, and a closed store refuses
work with StoreClosed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, TypeVar

import asyncpg
from attrs import evolve
from vault.store import errors
from vault.store.blob_operations import BlobOperations
from vault.store.blobs import BlobInfo, BlobStore, BlobUpload
from vault.store.cache_port import CacheStore
from vault.store.content import ContentKeeper
from vault.store.interface import IdempotencyClaim
from vault.store.port_operations import PortOperations
from vault.store.postgres import blob_refs, idempotency, locks, migrations, reads, rollups, writes
from vault.store.postgres.connection import Pool, redact, storable, translate
from vault.store.sqlite.backup import copy_artifacts
from vault.store.sqlite.idempotency import Replayed, revive
from vault.store.state_port import StateStore

from vault import clock
from vault.inputs import CacheWrite, MessageFields, NewArtifact, NewMetric, NewSession, SessionChanges
from vault.models import Artifact, BackupInfo, CacheEntry, Message, Metric, Page, Session, State
from vault.queries import ArtifactQuery, HistoryQuery, MetricQuery, RollupQuery, SessionQuery
from vault.telemetry import StoreCollector, Telemetry

log = logging.getLogger(__name__)
T = TypeVar("T")

# Long sweeps run as many short transactions, so they never hold locks for long.
CLEANUP_CHUNK = 1000
FOLD_CHUNK = 5000
# A deadlock or serialization failure is PostgreSQL asking for a retry.
ATTEMPTS = 3


class PostgresStore(BlobOperations, PortOperations):
    backend = "postgresql"

    def __init__(
        self,
        dsn: str,
        *,
        blobs: BlobStore,
        cache: CacheStore | None = None,
        state: StateStore | None = None,
        pool_size: int = 10,
        pool_timeout: float = 5.0,
        queue_max: int = 1000,
    ) -> None:
        self.dsn = dsn
        # Artifact content: every instance must see the same blobs (one shared volume).
        self._blobs = blobs
        self._content = ContentKeeper(blobs, self._remove_unclaimed)
        self._use_ports(cache, state)
        self._timeout = pool_timeout
        self._pool = Pool(dsn, size=pool_size, timeout=pool_timeout, queue_max=queue_max)
        self._touches: dict[str, str] = {}
        self._background: set[asyncio.Task] = set()
        self._observer: Callable[[int, float], None] | None = None
        self.applied_migrations: list[migrations.Migration] = []

    # -- lifecycle

    async def start(self) -> None:
        """Connect and migrate eagerly, so a bad URL fails here and not at the first request."""
        try:
            await asyncio.to_thread(self._blobs.open)
        except OSError as exc:
            raise errors.StoreUnavailable(
                f"cannot use the artifact folder {self._blobs.location}: {exc.strerror or exc}"
            ) from exc
        try:
            await self._pool.open()
            async with self._pool.connection() as conn:
                self.applied_migrations = await migrations.migrate(conn)
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

    async def ping(self) -> None:
        await self._read(reads.ping)

    def observe(self, telemetry: Telemetry) -> None:
        self._observer = telemetry.observe_commit
        # No files to measure; the depth is callers waiting for a connection.
        telemetry.watch(StoreCollector(queue_depth=lambda: self._pool.waiting, files=dict))

    def job_lock(self, job_id: str, min_gap: float | None = None) -> AbstractAsyncContextManager[bool]:
        return locks.job_lock(self.dsn, job_id, min_gap, self._timeout)

    async def _write(
        self, operation: Callable[..., Awaitable[T]], *args: Any, claim: IdempotencyClaim | None = None
    ) -> T:
        """Run `operation` in its own transaction; answer only after COMMIT."""
        async with self._pool.connection() as conn:
            for attempt in range(1, ATTEMPTS + 1):
                started = time.perf_counter()
                try:
                    async with conn.transaction():
                        value = await self._apply(conn, operation, args, claim)
                except errors.StoreError:
                    raise
                except (asyncpg.DeadlockDetectedError, asyncpg.SerializationError) as exc:
                    if attempt == ATTEMPTS:
                        raise translate(exc) from exc
                    continue
                except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError) as exc:
                    raise translate(exc) from exc
                except Exception as exc:  # a bug or an unencodable value: this write fails, the store goes on
                    log.exception("write %s failed", operation.__name__)
                    raise translate(exc) from exc
                if self._observer is not None:
                    self._observer(1, time.perf_counter() - started)
                return value
        raise AssertionError("unreachable")

    @staticmethod
    async def _apply(conn: asyncpg.Connection, operation: Callable[..., Awaitable[T]], args: tuple, claim: Any) -> Any:
        if claim is None:
            return await operation(conn, *args)
        replay = await idempotency.claim(conn, claim)
        if replay is not None:
            return replay
        value = await operation(conn, *args)
        await idempotency.record(conn, claim, value)
        return value

    async def _read(self, query: Callable[..., Awaitable[T]], *args: Any) -> T:
        async with self._pool.connection() as conn:
            try:
                return await query(conn, *args)
            except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError) as exc:
                raise translate(exc) from exc

    # -- sessions

    async def create_session(self, new: NewSession, claim: IdempotencyClaim | None = None) -> Session:
        return revive(await self._write(writes.create_session, new, claim=claim), Session)

    async def get_session(self, session_id: str) -> Session:
        _known("session", session_id)
        return await self._read(reads.get_session, session_id)

    async def update_session(self, session_id: str, changes: SessionChanges) -> Session:
        _known("session", session_id)
        return await self._write(writes.update_session, session_id, changes)

    async def delete_session(self, session_id: str) -> None:
        _known("session", session_id)
        released = await self._write(writes.delete_session, session_id)
        await self._state.forget(session_id)
        await self._content.release_quietly(released)

    async def list_sessions(self, query: SessionQuery) -> Page:
        if not _all_storable(query.agent_name, query.user_id, query.status):
            return Page([])
        return await self._read(reads.list_sessions, query)

    # -- history

    async def add_messages(
        self, session_id: str, messages: Sequence[MessageFields], claim: IdempotencyClaim | None = None
    ) -> list[Message]:
        _known("session", session_id)
        return revive(await self._write(writes.add_messages, session_id, messages, claim=claim), Message)

    async def get_message(self, message_id: str) -> Message:
        _known("message", message_id)
        return await self._read(reads.get_message, message_id)

    async def list_messages(self, query: HistoryQuery) -> Page:
        self._check_history_query(query)
        if not _all_storable(query.role):
            return Page([])
        return await self._read(reads.list_messages, query)

    @staticmethod
    def _check_history_query(query: HistoryQuery) -> None:
        _known("session", query.session_id)
        for name in ("after", "before"):
            ref = getattr(query, name)
            if ref is not None and not storable(ref):
                raise errors.InvalidReference(["query", name], f"{ref!r} names no message of this session")

    async def list_message_bodies(self, query: HistoryQuery) -> Page:
        self._check_history_query(query)
        if not _all_storable(query.role):
            return Page([])
        return await self._read(reads.list_message_bodies, query)

    async def clear_history(self, session_id: str) -> int:
        _known("session", session_id)
        return await self._write(writes.clear_history, session_id)

    # -- state

    async def _db_get_state(self, session_id: str) -> State:
        _known("session", session_id)
        return await self._read(reads.get_state, session_id)

    async def _db_put_state(self, session_id: str, data: dict[str, Any], if_match: int | None) -> State:
        _known("session", session_id)
        return await self._write(writes.put_state, session_id, data, if_match)

    async def _db_patch_state(self, session_id: str, patch: dict[str, Any], if_match: int | None) -> State:
        _known("session", session_id)
        return await self._write(writes.patch_state, session_id, patch, if_match)

    async def _db_delete_state(self, session_id: str, if_match: int | None) -> State:
        _known("session", session_id)
        return await self._write(writes.delete_state, session_id, if_match)

    # -- artifacts

    async def create_artifact(
        self, new: NewArtifact, claim: IdempotencyClaim | None = None, content: BlobUpload | None = None
    ) -> Artifact:
        if content is None:
            return revive(await self._write(writes.create_artifact, new, claim=claim), Artifact)

        async def commit(info: BlobInfo) -> Any:
            return await self._write(writes.create_artifact, new, info, self._blobs.contains, claim=claim)

        result = await self._content.commit_with(content, commit)
        if isinstance(result, Replayed):
            # The first request's record answers; these bytes may be claimed by nothing.
            await self._content.release_quietly([content.info.sha256])
        return revive(result, Artifact)

    async def get_artifact(self, artifact_id: str) -> Artifact:
        _known("artifact", artifact_id)
        return await self._read(reads.get_artifact, artifact_id)

    async def list_artifacts(self, query: ArtifactQuery) -> Page:
        if not _all_storable(query.session_id, query.type):
            return Page([])
        return await self._read(reads.list_artifacts, query)

    async def delete_artifact(self, artifact_id: str) -> None:
        _known("artifact", artifact_id)
        released = await self._write(writes.delete_artifact, artifact_id)
        if released is not None:
            await self._content.release_quietly([released])

    async def referenced_blobs(self, sha256s: list[str]) -> set[str]:
        return await self._read(blob_refs.referenced, sha256s)

    async def release_blobs(self, sha256s: list[str]) -> int:
        return await self._content.release(sha256s)

    async def _remove_unclaimed(self, sha256s: list[str]) -> int:
        return await self._write(blob_refs.release, sha256s, self._blobs.remove)

    # -- metrics

    async def record_metrics(self, metrics: list[NewMetric], claim: IdempotencyClaim | None = None) -> list[Metric]:
        return revive(await self._write(writes.record_metrics, metrics, claim=claim), Metric)

    async def get_metric(self, metric_id: str) -> Metric:
        _known("metric", metric_id)
        return await self._read(reads.get_metric, metric_id)

    async def list_metrics(self, query: MetricQuery) -> Page:
        if not _all_storable(query.entity_type, query.entity_name, query.session_id, query.metric_name):
            return Page([])
        return await self._read(reads.list_metrics, query)

    # -- cache

    async def _db_cache_get(self, key: str) -> CacheEntry:
        _known("cache key", key)
        entry = await self._read(reads.cache_get, key)
        now = clock.now_text()
        self._touch(key, now)
        return CacheEntry(entry.key, entry.value, entry.ttl, entry.created_at, now, entry.expires_at)

    async def _db_cache_set(self, key: str, write: CacheWrite) -> CacheEntry:
        return await self._write(writes.cache_set, key, write)

    async def _db_cache_delete(self, key: str) -> None:
        _known("cache key", key)
        await self._write(writes.cache_delete, key)

    async def _repeat(self, chunk: int, operation: Callable[..., Awaitable[int]], *args: Any) -> int:
        """Run a chunked write until a run does less than a full chunk."""
        total = 0
        while True:
            done = await self._write(operation, *args, chunk)
            total += done
            if done < chunk:
                return total

    async def _db_cache_cleanup(self, claim: IdempotencyClaim | None = None) -> int:
        if claim is not None:
            # The sweep spans several transactions, so the claim is checked before it:
            # a replay or a mismatched request must not sweep.
            replay = await self._read(idempotency.lookup, claim)
            if replay is not None:
                return revive(replay, int)
        total = await self._repeat(CLEANUP_CHUNK, writes.cache_cleanup_chunk)
        if claim is None:
            return total
        return revive(await self._write(writes.result_of, total, claim=claim), int)

    # -- housekeeping

    async def fold_metric_rollups(self) -> int:
        return await self._repeat(FOLD_CHUNK, rollups.fold_chunk)

    async def prune_metrics(self, older_than: str) -> int:
        return await self._repeat(CLEANUP_CHUNK, rollups.prune_chunk, older_than)

    async def list_rollups(self, query: RollupQuery) -> Page:
        if not _all_storable(query.metric_name, query.entity_name, query.entity_type):
            return Page([])
        found, has_more = await self._read(rollups.list_rollups, query)
        return Page(found, has_more=has_more)

    async def prune_idempotency_keys(self, older_than: str) -> int:
        return await self._repeat(CLEANUP_CHUNK, writes.prune_idempotency_chunk, older_than)

    async def backup(self, target: str, progress: Any = None) -> BackupInfo:
        """A SQLite file holding one consistent snapshot of this database (see vault.store.postgres.backup)."""
        if self._pool.closed:
            raise errors.StoreClosed("the store is closed")
        # Imported here: backups go through vault.store.transfer, which imports this package.
        from vault.store.postgres import backup

        # Blobs the snapshot references must still exist when they are copied after it,
        # whichever instance would release them.
        async with self._content.releases_held(), blob_refs.gate_held(self.dsn, self._timeout):
            info = await backup.snapshot_to_sqlite(self.dsn, target, progress)
            exported = await asyncio.to_thread(copy_artifacts, target, self._blobs)
        return evolve(info, artifacts=exported.copied)

    def _touch(self, key: str, when: str) -> None:
        """Note a read time; touches are written best-effort, many per transaction."""
        schedule = not self._touches
        self._touches[key] = when
        if schedule:
            task = asyncio.get_running_loop().create_task(self._flush_touches())
            self._background.add(task)
            task.add_done_callback(self._background.discard)

    async def _flush_touches(self) -> None:
        if not self._touches:
            return
        touches, self._touches = self._touches, {}
        try:
            await self._write(writes.touch_cache, touches)
        except errors.StoreError as exc:
            log.debug("cache read times not recorded: %s", exc)


def _known(kind: str, key: str) -> None:
    """A key PostgreSQL text cannot hold was never stored: NotFound without a query."""
    if not storable(key):
        raise errors.NotFound(kind, key)


def _all_storable(*values: str | None) -> bool:
    """False when a filter value cannot be stored, so nothing can match it."""
    return all(value is None or storable(value) for value in values)
