"""The store actor: one task, one connection, every write.

Callers put a command (one of vault.store.core.commands, run by the function
its type maps to in the writer's table of operations) with a future on a
bounded queue. The writer takes what is queued, up to a batch cap, and runs
it on the connection's thread in one `BEGIN IMMEDIATE` transaction, each
command inside its own SAVEPOINT: a failing command rolls back alone and its
error reaches only its caller. One COMMIT, then every future is resolved:
nothing is acknowledged before it is durable.

When the database itself fails (an I/O error, say on fsync), the batch fails
and the writer takes no more writes until it has reopened its connection and
the database has passed `PRAGMA quick_check`: never a silent retry that
could acknowledge lost data.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import aiosqlite
from attrs import define, field
from vault.store import errors
from vault.store.core.commands import Command
from vault.store.interface import IdempotencyClaim
from vault.store.sqlite import idempotency, search
from vault.store.sqlite.connection import run_on_thread, translate

log = logging.getLogger(__name__)

Operation = Callable[..., Any]
Reopen = Callable[[], Awaitable[aiosqlite.Connection]]


@define
class Queued:
    """A command waiting for the writer, with the function that runs it and its caller's future."""

    command: Command
    operation: Operation
    claim: IdempotencyClaim | None
    future: asyncio.Future
    alone: bool


@define
class WriterStats:
    """Counters for tests and /metrics."""

    commands: int = 0
    commits: int = 0
    failed_batches: int = 0
    recoveries: int = 0
    largest_batch: int = 0
    batch_sizes: list[int] = field(factory=list)

    def record(self, size: int) -> None:
        self.commands += size
        self.commits += 1
        self.largest_batch = max(self.largest_batch, size)
        if len(self.batch_sizes) < 10_000:
            self.batch_sizes.append(size)


_STOP = object()
UNSAFE_COMMIT_DELAY = 0.05


class Writer:
    def __init__(
        self,
        conn: aiosqlite.Connection,
        *,
        operations: Mapping[type[Command], Operation],
        queue_max: int,
        batch_max: int,
        reopen: Reopen | None = None,
        ack_before_commit: bool = False,
    ) -> None:
        self._conn = conn
        self._operations = operations
        self._queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=queue_max)
        self._batch_max = batch_max
        self._reopen = reopen
        # Breaks durability on purpose: only for the crash test's control run.
        self._ack_before_commit = ack_before_commit
        self._task: asyncio.Task | None = None
        self._carried: Queued | None = None
        self._closing = False
        self.failure: str | None = None
        self.stats = WriterStats()
        # Called with (batch size, seconds) after each commit, for /metrics.
        self.observer: Callable[[int, float], None] | None = None
        # Called after each commit: wakes the change feed's reader.
        self.on_commit: Callable[[], None] | None = None

    @property
    def connection(self) -> aiosqlite.Connection:
        return self._conn

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    @property
    def healthy(self) -> bool:
        return self.running and self.failure is None

    @property
    def queue_depth(self) -> int:
        return self._queue.qsize()

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="vault-writer")

    async def submit(self, command: Command, claim: IdempotencyClaim | None = None) -> Any:
        """Queue a command and wait for its committed result (or its error)."""
        operation = self._operations.get(type(command))
        if operation is None:
            raise TypeError(f"the writer runs store commands only, not {command!r}")
        if self._closing or not self.running:
            raise errors.StoreClosed("the store is shutting down")
        future = asyncio.get_running_loop().create_future()
        try:
            self._queue.put_nowait(Queued(command, operation, claim, future, command.alone))
        except asyncio.QueueFull:
            raise errors.StoreBusy("the write queue is full") from None
        return await future

    async def close(self) -> None:
        """Take no more commands, run every queued one, then stop."""
        if self._closing:
            if self._task is not None:
                await asyncio.shield(self._task)
            return
        self._closing = True
        if self._task is None:
            return
        await self._queue.put(_STOP)
        await self._task

    async def _run(self) -> None:
        while True:
            first, self._carried = self._carried or await self._queue.get(), None
            if first is _STOP:
                return
            batch = [first]
            stop_after = False
            while not first.alone and len(batch) < self._batch_max and not self._queue.empty():
                item = self._queue.get_nowait()
                if item is _STOP:
                    stop_after = True
                    break
                if item.alone:
                    self._carried = item
                    break
                batch.append(item)
            live = [queued for queued in batch if not queued.future.cancelled()]
            if live:
                if self.failure is not None:
                    await self._recover()
                if self.failure is not None:
                    self._fail(live, errors.StoreUnavailable(self.failure))
                else:
                    await self._commit(live)
            if stop_after:
                if self._carried is not None:
                    await self._commit([self._carried])
                return

    async def _commit(self, batch: list[Queued]) -> None:
        started = time.perf_counter()
        try:
            if self._ack_before_commit:
                outcomes = await self._run_then_ack_then_commit(batch)
            else:
                outcomes = await run_on_thread(self._conn, _run_batch, batch, True)
        except sqlite3.Error as exc:
            self.stats.failed_batches += 1
            failure = translate(exc)
            if _is_database_failure(exc):
                self.failure = f"the database failed ({failure}); writes resume once it has been reopened and checked"
            log.error("write batch of %d failed: %s", len(batch), failure)
            self._fail(batch, failure)
            return
        except Exception as exc:  # a bug, not a database failure: fail the batch, keep the writer
            self.stats.failed_batches += 1
            log.exception("write batch of %d failed", len(batch))
            self._fail(batch, errors.StoreUnavailable(f"write failed: {exc}"))
            return
        self.stats.record(len(batch))
        if self.observer is not None:
            self.observer(len(batch), time.perf_counter() - started)
        if self.on_commit is not None:
            self.on_commit()
        for queued, (ok, value) in zip(batch, outcomes, strict=True):
            _resolve(queued.future, ok, value)

    async def _run_then_ack_then_commit(self, batch: list[Queued]) -> list[tuple[bool, Any]]:
        outcomes = await run_on_thread(self._conn, _run_batch, batch, False)
        for queued, (ok, value) in zip(batch, outcomes, strict=True):
            _resolve(queued.future, ok, value)
        # Answered, not yet durable: the window a crash test must catch.
        await asyncio.sleep(UNSAFE_COMMIT_DELAY)
        await run_on_thread(self._conn, _finish, "COMMIT")
        return outcomes

    def _fail(self, batch: list[Queued], error: Exception) -> None:
        for queued in batch:
            _resolve(queued.future, False, error)

    async def _recover(self) -> None:
        """Reopen the connection and check the database before taking writes again."""
        try:
            if self._reopen is not None:
                with contextlib.suppress(Exception):  # the old connection is thrown away either way
                    await self._conn.close()
                self._conn = await self._reopen()
            result = await run_on_thread(self._conn, quick_check)
        except Exception as exc:  # stay failed and try again at the next batch; never let the writer die
            log.error("writer could not reopen the database: %s", exc)
            return
        if result != "ok":
            self.failure = f"the database failed quick_check ({result}); restore it from a backup"
            log.error("writer recovery: %s", self.failure)
            return
        self.stats.recoveries += 1
        self.failure = None
        log.warning("writer reopened the database and it passed quick_check; taking writes again")


def _resolve(future: asyncio.Future, ok: bool, value: Any) -> None:
    if future.done():
        return
    if ok:
        future.set_result(value)
    else:
        future.set_exception(value)


# Errors that say the database or its storage failed, not the command.
DATABASE_FAILURES = ("SQLITE_IOERR", "SQLITE_CORRUPT", "SQLITE_NOTADB", "SQLITE_CANTOPEN", "SQLITE_PROTOCOL")


def _is_database_failure(error: sqlite3.Error) -> bool:
    return (getattr(error, "sqlite_errorname", "") or "").startswith(DATABASE_FAILURES)


def quick_check(conn: sqlite3.Connection) -> str:
    return conn.execute("PRAGMA quick_check").fetchone()[0]


def _finish(conn: sqlite3.Connection, statement: str) -> None:
    try:
        conn.execute(statement)
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def _run_batch(conn: sqlite3.Connection, batch: list[Queued], commit: bool) -> list[tuple[bool, Any]]:
    """Runs on the writer thread: one transaction, a savepoint per command."""
    outcomes: list[tuple[bool, Any]] = []
    conn.execute("BEGIN IMMEDIATE")
    try:
        for queued in batch:
            conn.execute("SAVEPOINT command")
            try:
                value = _execute(conn, queued)
            except errors.StoreError as exc:
                conn.execute("ROLLBACK TO command")
                outcomes.append((False, exc))
            except sqlite3.Error as exc:
                if not conn.in_transaction:
                    # SQLite rolled the whole transaction back (as on a full disk): the batch
                    # fails with this error, not with the one ROLLBACK TO would raise.
                    raise
                conn.execute("ROLLBACK TO command")
                outcomes.append((False, translate(exc)))
            except Exception as exc:
                log.exception("write command %s failed", type(queued.command).__name__)
                conn.execute("ROLLBACK TO command")
                outcomes.append((False, errors.StoreUnavailable(f"write failed: {type(exc).__name__}")))
            else:
                outcomes.append((True, value))
            conn.execute("RELEASE command")
        search.file_deferred_words(conn)
        if commit:
            conn.execute("COMMIT")
    except BaseException:
        search.drop_deferred_words(conn)
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return outcomes


def _execute(conn: sqlite3.Connection, queued: Queued) -> Any:
    if queued.claim is None:
        return queued.operation(conn, queued.command)
    replay = idempotency.lookup(conn, queued.claim)
    if replay is not None:
        return replay
    value = queued.operation(conn, queued.command)
    idempotency.record(conn, queued.claim, value)
    return value
