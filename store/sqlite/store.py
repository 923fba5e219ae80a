"""SQLiteStore: the shared SQL store core (vault.store.core.sql_store) over one writer actor and a read pool."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite
from attrs import evolve, frozen
from vault.store import errors
from vault.store.blobfs import FilesystemBlobStore
from vault.store.blobs import BlobStore
from vault.store.cache_port import CacheStore
from vault.store.core import commands, rows
from vault.store.core.commands import Command
from vault.store.core.copies import Check
from vault.store.core.packing import MissingDictionary
from vault.store.core.sql_store import SqlStore
from vault.store.interface import IdempotencyClaim
from vault.store.sqlite import backup, events, migrations, reads
from vault.store.sqlite.blob_locks import BlobLocks
from vault.store.sqlite.connection import (
    JOURNAL_SIZE_LIMIT,
    SYNCHRONOUS_MODES,
    WAL_AUTOCHECKPOINT_PAGES,
    open_writer,
    run_on_thread,
    translate,
)
from vault.store.sqlite.operations import OPERATIONS
from vault.store.sqlite.readers import ReadPool
from vault.store.sqlite.usage_lock import UsageLock
from vault.store.sqlite.windows import WindowCache
from vault.store.sqlite.writer import Writer, WriterStats, quick_check
from vault.store.state_port import StateStore

from vault.jsonutil import OFF_LOOP_BYTES, off_loop
from vault.models import Page
from vault.queries import HistoryQuery
from vault.telemetry import StorageCollector, StoreCollector, Telemetry

T = TypeVar("T")

log = logging.getLogger(__name__)


@frozen(kw_only=True)
class SQLiteSettings:
    """The tuning a SQLite store takes from vault.config.Config, which holds every default."""

    synchronous: str
    queue_max: int
    batch_max: int
    read_connections: int
    # Breaks durability on purpose: only for the crash test's control run.
    ack_before_commit: bool
    # Largest stored document once merged (VAULT_MAX_DOCUMENT_BYTES); None: unbounded.
    max_document_bytes: int | None = None
    # VAULT_COMPRESSION: documents kept zstd-compressed where that saves space.
    compression: bool = True
    # VAULT_BODY_CACHE_MB: recent message bodies kept unpacked (vault.store.core.body_cache); 0: none.
    body_cache_bytes: int = 0


def _checked_under_its_lock(sha256: str) -> bool:
    return True


class SQLiteStore(SqlStore):
    backend = "sqlite"
    _queries = reads
    _events = events

    def __init__(
        self,
        path: str,
        settings: SQLiteSettings,
        *,
        blobs: BlobStore | None = None,
        cache: CacheStore | None = None,
        state: StateStore | None = None,
        wal_autocheckpoint_pages: int = WAL_AUTOCHECKPOINT_PAGES,
        journal_size_limit: int = JOURNAL_SIZE_LIMIT,
    ) -> None:
        if settings.synchronous not in SYNCHRONOUS_MODES:
            raise ValueError(f"synchronous must be one of {SYNCHRONOUS_MODES}")
        self.path = path
        self._settings = settings
        self._wal_settings = (wal_autocheckpoint_pages, journal_size_limit)
        self._reads = ReadPool(path, settings.read_connections)
        self._usage = UsageLock(path)
        self._write_conn: aiosqlite.Connection | None = None
        self._writer: Writer | None = None
        # Artifact content; by default in an `artifacts` folder beside the database.
        blobs = blobs if blobs is not None else FilesystemBlobStore(Path(path).parent / "artifacts")
        super().__init__(
            blobs, cache, state, settings.max_document_bytes, settings.compression, settings.body_cache_bytes * 3 // 4
        )
        # A quarter of VAULT_BODY_CACHE_MB keeps newest windows whole (windows.py); the rest, bodies.
        self._windows = WindowCache(settings.body_cache_bytes // 4) if settings.body_cache_bytes else None
        # Files are checked and removed on the writer; a remote store's round trips go under blob locks instead.
        self._blob_locks = None if blobs.kind == "filesystem" else BlobLocks(path)

    # -- lifecycle

    async def start(self) -> None:
        """Open the database eagerly, so a bad path fails here and not at the first write."""
        try:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise errors.StoreUnavailable(f"cannot create the folder of {self.path}: {exc.strerror or exc}") from exc
        await self._open_blobs()
        await asyncio.to_thread(self._usage.hold)
        try:
            if self._blob_locks is not None:
                self._blob_locks.open()
            self._write_conn = await self._open_writer()
            self.applied_migrations = await run_on_thread(self._write_conn, migrations.migrate, self.migration_progress)
            # A corrupt page is found now, not at the first write that meets it (README: its cost).
            checked = await run_on_thread(self._write_conn, quick_check)
            await self._reads.open()
        except sqlite3.Error as exc:
            await self._close_connections()
            raise errors.StoreUnavailable(f"cannot open database {self.path}: {exc}") from exc
        except BaseException:
            await self._close_connections()
            raise
        self._writer = Writer(
            self._write_conn,
            operations=OPERATIONS,
            queue_max=self._settings.queue_max,
            batch_max=self._settings.batch_max,
            reopen=self._open_writer,
            ack_before_commit=self._settings.ack_before_commit,
        )
        if checked != "ok":
            # Reads go on; writes and /ready are refused until the database passes the check.
            problem = next(line for line in [*checked.splitlines(), checked] if not line.startswith("***"))
            self._writer.failure = f"the database failed quick_check at start ({problem}); restore it from a backup"
            log.error("%s", self._writer.failure)
        self._writer.on_commit = self.feed.wake
        self._writer.start()
        await self.load_dictionaries()
        await self._start_feed()

    async def _open_writer(self) -> aiosqlite.Connection:
        return await open_writer(self.path, self._settings.synchronous, *self._wal_settings)

    async def close(self) -> None:
        # Ended without waiting, so that the writer takes no new work from here on.
        self.feed.end()
        if self._writer is not None:
            await self._flush_touches()
            await self._writer.close()
        await self._close_connections()
        await self._close_ports()
        await self.feed.close()

    async def _close_connections(self) -> None:
        await self._reads.close()
        if self._writer is not None:
            # After a recovery the writer holds a newer connection than the first one.
            self._write_conn = self._writer.connection
        if self._write_conn is not None:
            conn, self._write_conn = self._write_conn, None
            await conn.close()
        if self._blob_locks is not None:
            self._blob_locks.close()
        self._usage.release()

    async def ping(self) -> None:
        if self._writer is None or not self._writer.running:
            raise errors.StoreUnavailable("the writer is not running")
        if self._writer.failure is not None:
            raise errors.StoreUnavailable(self._writer.failure)
        await self._read(reads.ping)
        await self._ping_ports()

    def observe(self, telemetry: Telemetry) -> None:
        self._observe_ports(telemetry)
        self._started_writer().observer = telemetry.observe_commit
        telemetry.watch(
            StoreCollector(
                queue_depth=lambda: self._started_writer().queue_depth,
                files=lambda: {"database": self.path, "wal": f"{self.path}-wal"},
            )
        )
        telemetry.watch(StorageCollector(self.last_storage_report))

    @contextlib.asynccontextmanager
    async def job_lock(self, job_id: str, min_gap: float | None = None) -> AsyncIterator[bool]:
        # One process owns the database file, so its scheduler is the only one.
        yield True

    def _started_writer(self) -> Writer:
        if self._writer is None:
            raise errors.StoreClosed("the store has not started")
        return self._writer

    @property
    def write_stats(self) -> WriterStats:
        """The writer's counters (commands, commits, batch sizes), for tests and benchmarks."""
        return self._started_writer().stats

    async def _write(self, command: Command, claim: IdempotencyClaim | None = None) -> Any:
        return await self._started_writer().submit(command, claim)

    async def _read(self, query: Callable[..., T], *args: Any) -> T:
        try:
            return await self._reads.run(query, *args)
        except sqlite3.Error as exc:
            raise translate(exc) from exc

    async def _read_feed(self, query: Callable[..., T], *args: Any) -> T:
        # A page of events by primary key: short, so on the loop's thread, without a hop to the pool.
        return await self._read_bounded(query, *args)

    async def _read_bounded(self, query: Callable[..., T], *args: Any) -> T:
        """A read bounded by an index and a limit: run on the loop's thread (see readers.py)."""
        try:
            return await self._reads.run_bounded(query, *args)
        except sqlite3.Error as exc:
            raise translate(exc) from exc

    async def _read_keyed(self, query: Callable[..., T], *args: Any) -> T:
        return await self._read_bounded(query, *args)

    async def _read_keyed_document(self, query: Callable[..., reads.Unpacking[T]], *args: Any) -> T:
        # Found on the loop's thread (a hand-off to a reader thread and back costs more than the
        # lookup); unpacked there too unless the document is large.
        found = await self._read_bounded(query, self._codec, *args)
        if found.size <= OFF_LOOP_BYTES:
            try:
                # Most documents: unpacked right here, without the two coroutines below.
                return found.finish()
            except MissingDictionary:
                await self.load_dictionaries()  # another instance trained it since this one looked
        return await self._with_dictionaries(lambda: off_loop(found.size, found.finish))

    async def _commit_claiming(self, command: commands.CreateArtifact, claim: IdempotencyClaim | None) -> Any:
        if self._blob_locks is None:
            return await super()._commit_claiming(command, claim)
        sha256 = command.content.sha256
        async with self._blob_locks.holding(sha256):
            present = await asyncio.to_thread(self._blobs.contains, sha256)
            if not present:
                raise errors.BlobMissing(sha256)
            # Checked under the lock, held until the commit: no release of this blob runs in between.
            return await self._write(evolve(command, present=_checked_under_its_lock), claim)

    async def _remove_unclaimed(self, sha256s: list[str]) -> int:
        if self._blob_locks is None:
            return await super()._remove_unclaimed(sha256s)
        removed = 0
        for sha256 in sorted(set(sha256s)):
            async with self._blob_locks.holding(sha256):
                if await self._read(reads.blob_claimed, sha256):
                    continue
                if await asyncio.to_thread(self._blobs.remove, sha256):
                    removed += 1
        return removed

    async def _drop_raw(self, sha256: str, stored_size: int) -> bool:
        if self._blob_locks is None:
            return await super()._drop_raw(sha256, stored_size)
        async with self._blob_locks.holding(sha256):
            if not await asyncio.to_thread(self._blobs.drop_raw, sha256):
                return False
            # Dropped under the lock, held until the sizes are written: no claim or release in between.
            return await self._write(commands.DropRawBlob(sha256, stored_size, _checked_under_its_lock))

    def _takes_writes(self) -> bool:
        return self._writer is not None and self._writer.running

    async def _read_window(self, query: HistoryQuery) -> Page:
        # A window by seq is one range scan of at most 1,001 stored bodies, never decoded;
        # an offset or a role filter may scan the conversation, so those go to the pool.
        if query.offset is not None or query.role is not None:
            return await self._read_documents(reads.list_message_bodies, query)
        newest = self._windows is not None and query.after is None and query.before is None
        if not newest:
            page = await self._read_bounded(reads.message_window, query)
            return await self._rendered(page)
        # The newest window (a context window): kept whole while the session's row shows no change.
        mark, page, kept = await self._read_bounded(reads.newest_window, query, self._windows)
        if kept:
            return page
        rendered = await self._rendered(page)
        sizes = [rows.document_size(row[3], row[5]) for row in page.items]
        self._windows.keep(query.session_id, mark, rendered.items, sizes, page.has_more)
        return rendered

    async def _rendered(self, page: Page) -> Page:
        """A page of window rows as the JSON they are served as: unpacked on the loop for a small
        window, on a worker thread for a large one."""
        items = await self._with_dictionaries(
            lambda: off_loop(page.size, lambda: reads.rendered(self._codec, page.items))
        )
        return Page(items, has_more=page.has_more, size=page.size)

    async def _snapshot(self, target: str, progress: backup.Progress | None) -> Check:
        return await asyncio.to_thread(backup.copy_database, self.path, target, progress)
