"""SQLiteStore: the store interface over one writer actor and a read pool."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite
from vault.store import errors
from vault.store.blobfs import FilesystemBlobStore
from vault.store.blobs import BlobInfo, BlobStore, BlobUpload
from vault.store.content import ContentKeeper
from vault.store.interface import IdempotencyClaim
from vault.store.sqlite import backup, blob_refs, idempotency, migrations, reads, rollups, writes
from vault.store.sqlite.connection import (
    JOURNAL_SIZE_LIMIT,
    SYNCHRONOUS_MODES,
    WAL_AUTOCHECKPOINT_PAGES,
    open_writer,
    run_on_thread,
    translate,
)
from vault.store.sqlite.idempotency import Replayed, revive
from vault.store.sqlite.readers import ReadPool
from vault.store.sqlite.usage_lock import UsageLock
from vault.store.sqlite.writer import Writer

from vault import clock
from vault.inputs import CacheWrite, MessageFields, NewArtifact, NewMetric, NewSession, SessionChanges
from vault.models import Artifact, BackupInfo, CacheEntry, Message, Metric, Page, Session, State
from vault.queries import ArtifactQuery, HistoryQuery, MetricQuery, RollupQuery, SessionQuery
from vault.telemetry import StoreCollector, Telemetry

log = logging.getLogger(__name__)
T = TypeVar("T")

# Long sweeps run as many small commands, so other writes interleave with them.
CLEANUP_CHUNK = 1000
FOLD_CHUNK = 5000
TOUCH_FLUSH_SECONDS = 1.0


class SQLiteStore:
    backend = "sqlite"

    def __init__(
        self,
        path: str,
        *,
        synchronous: str = "full",
        queue_max: int = 1000,
        batch_max: int = 256,
        read_connections: int = 4,
        blobs: BlobStore | None = None,
        wal_autocheckpoint_pages: int = WAL_AUTOCHECKPOINT_PAGES,
        journal_size_limit: int = JOURNAL_SIZE_LIMIT,
        ack_before_commit: bool = False,
    ) -> None:
        if synchronous not in SYNCHRONOUS_MODES:
            raise ValueError(f"synchronous must be one of {SYNCHRONOUS_MODES}")
        self.path = path
        self._synchronous = synchronous
        self._queue_max = queue_max
        self._batch_max = batch_max
        self._wal_settings = (wal_autocheckpoint_pages, journal_size_limit)
        self._ack_before_commit = ack_before_commit
        self._reads = ReadPool(path, read_connections)
        self._usage = UsageLock(path)
        self._write_conn: aiosqlite.Connection | None = None
        self._writer: Writer | None = None
        self._touches: dict[str, str] = {}
        self._background: set[asyncio.Task] = set()
        self.applied_migrations: list[migrations.Migration] = []
        # Artifact content; by default in an `artifacts` folder beside the database.
        self.blobs = blobs if blobs is not None else FilesystemBlobStore(Path(path).parent / "artifacts")
        self._content = ContentKeeper(self.blobs, self._remove_unclaimed)

    # -- lifecycle

    async def start(self) -> None:
        """Open the database eagerly, so a bad path fails here and not at the first write."""
        try:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise errors.StoreUnavailable(f"cannot create the folder of {self.path}: {exc.strerror or exc}") from exc
        try:
            await asyncio.to_thread(self.blobs.open)
        except OSError as exc:
            raise errors.StoreUnavailable(
                f"cannot use the artifact folder {self.blobs.location}: {exc.strerror or exc}"
            ) from exc
        await asyncio.to_thread(self._usage.hold)
        try:
            self._write_conn = await self._open_writer()
            self.applied_migrations = await run_on_thread(self._write_conn, migrations.migrate)
            await self._reads.open()
        except sqlite3.Error as exc:
            await self._close_connections()
            raise errors.StoreUnavailable(f"cannot open database {self.path}: {exc}") from exc
        except BaseException:
            await self._close_connections()
            raise
        self._writer = Writer(
            self._write_conn,
            queue_max=self._queue_max,
            batch_max=self._batch_max,
            reopen=self._open_writer,
            ack_before_commit=self._ack_before_commit,
        )
        self._writer.start()

    async def _open_writer(self) -> aiosqlite.Connection:
        return await open_writer(self.path, self._synchronous, *self._wal_settings)

    async def close(self) -> None:
        if self._writer is not None:
            await self._flush_touches()
            await self._writer.close()
        await self._close_connections()

    async def _close_connections(self) -> None:
        await self._reads.close()
        if self._writer is not None:
            # After a recovery the writer holds a newer connection than the first one.
            self._write_conn = self._writer.connection
        if self._write_conn is not None:
            conn, self._write_conn = self._write_conn, None
            await conn.close()
        self._usage.release()

    async def ping(self) -> None:
        if self._writer is None or not self._writer.running:
            raise errors.StoreUnavailable("the writer is not running")
        if self._writer.failure is not None:
            raise errors.StoreUnavailable(self._writer.failure)
        await self._read(reads.ping)

    def observe(self, telemetry: Telemetry) -> None:
        self.writer.observer = telemetry.observe_commit
        telemetry.watch(
            StoreCollector(
                queue_depth=lambda: self.writer.queue_depth,
                files=lambda: {"database": self.path, "wal": f"{self.path}-wal"},
            )
        )

    @contextlib.asynccontextmanager
    async def job_lock(self, job_id: str, min_gap: float | None = None) -> AsyncIterator[bool]:
        # One process owns the database file, so its scheduler is the only one.
        yield True

    @property
    def writer(self) -> Writer:
        if self._writer is None:
            raise errors.StoreClosed("the store has not started")
        return self._writer

    async def _write(self, operation: Callable[..., T], *args: Any, claim: IdempotencyClaim | None = None) -> T:
        return await self.writer.submit(operation, *args, claim=claim)

    async def _read(self, query: Callable[..., T], *args: Any) -> T:
        try:
            return await self._reads.run(query, *args)
        except sqlite3.Error as exc:
            raise translate(exc) from exc

    async def _read_bounded(self, query: Callable[..., T], *args: Any) -> T:
        """A read bounded by an index and a limit: run on the loop's thread (see readers.py)."""
        try:
            return await self._reads.run_bounded(query, *args)
        except sqlite3.Error as exc:
            raise translate(exc) from exc

    # -- sessions

    async def create_session(self, new: NewSession, claim: IdempotencyClaim | None = None) -> Session:
        return revive(await self._write(writes.create_session, new, claim=claim), Session)

    async def get_session(self, session_id: str) -> Session:
        return await self._read(reads.get_session, session_id)

    async def update_session(self, session_id: str, changes: SessionChanges) -> Session:
        return await self._write(writes.update_session, session_id, changes)

    async def delete_session(self, session_id: str) -> None:
        released = await self._write(writes.delete_session, session_id)
        await self._content.release_quietly(released)

    async def list_sessions(self, query: SessionQuery) -> Page:
        return await self._read(reads.list_sessions, query)

    # -- history

    async def add_messages(
        self, session_id: str, messages: Sequence[MessageFields], claim: IdempotencyClaim | None = None
    ) -> list[Message]:
        return revive(await self._write(writes.add_messages, session_id, messages, claim=claim), Message)

    async def get_message(self, message_id: str) -> Message:
        return await self._read(reads.get_message, message_id)

    async def list_messages(self, query: HistoryQuery) -> Page:
        return await self._read(reads.list_messages, query)

    async def list_message_bodies(self, query: HistoryQuery) -> Page:
        # A window by seq is one range scan of at most 1,001 stored bodies, never decoded;
        # an offset or a role filter may scan the conversation, so those go to the pool.
        if query.offset is None and query.role is None:
            return await self._read_bounded(reads.list_message_bodies, query)
        return await self._read(reads.list_message_bodies, query)

    async def clear_history(self, session_id: str) -> int:
        return await self._write(writes.clear_history, session_id)

    # -- state

    async def get_state(self, session_id: str) -> State:
        return await self._read(reads.get_state, session_id)

    async def put_state(self, session_id: str, data: dict[str, Any], if_match: int | None) -> State:
        return await self._write(writes.put_state, session_id, data, if_match)

    async def patch_state(self, session_id: str, patch: dict[str, Any], if_match: int | None) -> State:
        return await self._write(writes.patch_state, session_id, patch, if_match)

    async def delete_state(self, session_id: str, if_match: int | None) -> State:
        return await self._write(writes.delete_state, session_id, if_match)

    # -- artifacts

    async def create_artifact(
        self, new: NewArtifact, claim: IdempotencyClaim | None = None, content: BlobUpload | None = None
    ) -> Artifact:
        if content is None:
            return revive(await self._write(writes.create_artifact, new, claim=claim), Artifact)

        async def commit(info: BlobInfo) -> Any:
            return await self._write(writes.create_artifact, new, info, self.blobs.contains, claim=claim)

        result = await self._content.commit_with(content, commit)
        if isinstance(result, Replayed):
            # The first request's record answers; these bytes may be claimed by nothing.
            await self._content.release_quietly([content.info.sha256])
        return revive(result, Artifact)

    async def get_artifact(self, artifact_id: str) -> Artifact:
        return await self._read(reads.get_artifact, artifact_id)

    async def list_artifacts(self, query: ArtifactQuery) -> Page:
        return await self._read(reads.list_artifacts, query)

    async def delete_artifact(self, artifact_id: str) -> None:
        released = await self._write(writes.delete_artifact, artifact_id)
        if released is not None:
            await self._content.release_quietly([released])

    async def referenced_blobs(self, sha256s: list[str]) -> set[str]:
        return await self._read(blob_refs.referenced, sha256s)

    async def release_blobs(self, sha256s: list[str]) -> int:
        return await self._content.release(sha256s)

    async def _remove_unclaimed(self, sha256s: list[str]) -> int:
        # Alone in its transaction: the files it unlinks must not depend on other commands' COMMIT.
        return await self.writer.submit(blob_refs.release, sha256s, self.blobs.remove, alone=True)

    # -- metrics

    async def record_metrics(self, metrics: list[NewMetric], claim: IdempotencyClaim | None = None) -> list[Metric]:
        return revive(await self._write(writes.record_metrics, metrics, claim=claim), Metric)

    async def get_metric(self, metric_id: str) -> Metric:
        return await self._read(reads.get_metric, metric_id)

    async def list_metrics(self, query: MetricQuery) -> Page:
        return await self._read(reads.list_metrics, query)

    # -- cache

    async def cache_get(self, key: str) -> CacheEntry:
        entry = await self._read(reads.cache_get, key)
        now = clock.now_text()
        self._touch(key, now)
        return CacheEntry(entry.key, entry.value, entry.ttl, entry.created_at, now, entry.expires_at)

    async def cache_set(self, key: str, write: CacheWrite) -> CacheEntry:
        return await self._write(writes.cache_set, key, write)

    async def cache_delete(self, key: str) -> None:
        await self._write(writes.cache_delete, key)

    async def _repeat(self, chunk: int, operation: Callable[..., int], *args: Any) -> int:
        """Run a chunked write command until a run does less than a full chunk."""
        total = 0
        while True:
            done = await self._write(operation, *args, chunk)
            total += done
            if done < chunk:
                return total

    async def cache_cleanup(self, claim: IdempotencyClaim | None = None) -> int:
        if claim is not None:
            # The sweep spans several commands, so the claim is checked before it: a replay
            # or a mismatched request must not sweep.
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
        found, has_more = await self._read(rollups.list_rollups, query)
        return Page(found, has_more=has_more)

    async def prune_idempotency_keys(self, older_than: str) -> int:
        return await self._repeat(CLEANUP_CHUNK, writes.prune_idempotency_chunk, older_than)

    async def backup(self, target: str, progress: backup.Progress | None = None) -> BackupInfo:
        started = time.monotonic()
        created_at = clock.now_text()
        # Blobs a copy references must still exist when they are copied after it.
        async with self._content.releases_held():
            checked = await asyncio.to_thread(backup.copy_database, self.path, target, progress)
            exported = await asyncio.to_thread(backup.copy_artifacts, target, self.blobs)
        return BackupInfo(
            file=str(target),
            size=os.path.getsize(target),
            created_at=created_at,
            duration_seconds=round(time.monotonic() - started, 3),
            integrity_check=checked.result,
            artifacts=exported.copied,
        )

    def _touch(self, key: str, when: str) -> None:
        """Note a read time. Read times are written best-effort, all of a second's in one
        command, so reading the cache does not cost a commit per read."""
        schedule = not self._touches
        self._touches[key] = when
        if schedule:
            asyncio.get_running_loop().call_later(TOUCH_FLUSH_SECONDS, self._start_flush)

    def _start_flush(self) -> None:
        if self._writer is None or not self._writer.running:
            return
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
