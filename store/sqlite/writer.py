"""The store actor: one task, one connection, every write.

Callers put a command (a plain function over the sqlite3 connection) with a
future on a bounded queue. The writer takes what is queued, up to a batch
cap, and runs it on the connection's thread in one `BEGIN IMMEDIATE`
transaction, each command inside its own SAVEPOINT: a failing command rolls
back alone and its error reaches only its caller. One COMMIT, then every
future is resolved: nothing is acknowledged before it is durable.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Callable
from typing import Any

import aiosqlite
from attrs import define, field

from store import errors
from store.interface import IdempotencyClaim
from store.sqlite import idempotency
from store.sqlite.connection import run_on_thread, translate

log = logging.getLogger(__name__)

Operation = Callable[..., Any]


@define
class Command:
    operation: Operation
    args: tuple[Any, ...]
    claim: IdempotencyClaim | None
    future: asyncio.Future


@define
class WriterStats:
    """Counters for tests and /metrics."""

    commands: int = 0
    commits: int = 0
    failed_batches: int = 0
    largest_batch: int = 0
    batch_sizes: list[int] = field(factory=list)

    def record(self, size: int) -> None:
        self.commands += size
        self.commits += 1
        self.largest_batch = max(self.largest_batch, size)
        if len(self.batch_sizes) < 10_000:
            self.batch_sizes.append(size)


_STOP = object()


class Writer:
    def __init__(self, conn: aiosqlite.Connection, *, queue_max: int, batch_max: int) -> None:
        self._conn = conn
        self._queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=queue_max)
        self._batch_max = batch_max
        self._task: asyncio.Task | None = None
        self._closing = False
        self.stats = WriterStats()
        # Called with (batch size, seconds) after each commit, for /metrics.
        self.observer: Callable[[int, float], None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    @property
    def queue_depth(self) -> int:
        return self._queue.qsize()

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="vault-writer")

    async def submit(self, operation: Operation, *args: Any, claim: IdempotencyClaim | None = None) -> Any:
        """Queue a command and wait for its committed result (or its error)."""
        if self._closing or not self.running:
            raise errors.StoreClosed("the store is shutting down")
        future = asyncio.get_running_loop().create_future()
        try:
            self._queue.put_nowait(Command(operation, args, claim, future))
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
            first = await self._queue.get()
            if first is _STOP:
                return
            batch = [first]
            stop_after = False
            while len(batch) < self._batch_max and not self._queue.empty():
                item = self._queue.get_nowait()
                if item is _STOP:
                    stop_after = True
                    break
                batch.append(item)
            live = [command for command in batch if not command.future.cancelled()]
            if live:
                await self._commit(live)
            if stop_after:
                return

    async def _commit(self, batch: list[Command]) -> None:
        started = time.perf_counter()
        try:
            outcomes = await run_on_thread(self._conn, _run_batch, batch)
        except sqlite3.Error as exc:
            self.stats.failed_batches += 1
            failure = translate(exc)
            log.error("write batch of %d failed: %s", len(batch), failure)
            for command in batch:
                _resolve(command.future, False, failure)
            return
        except Exception as exc:  # a bug, not a database failure: fail the batch, keep the writer
            self.stats.failed_batches += 1
            log.exception("write batch of %d failed", len(batch))
            for command in batch:
                _resolve(command.future, False, errors.StoreUnavailable(f"write failed: {exc}"))
            return
        self.stats.record(len(batch))
        if self.observer is not None:
            self.observer(len(batch), time.perf_counter() - started)
        for command, (ok, value) in zip(batch, outcomes, strict=True):
            _resolve(command.future, ok, value)


def _resolve(future: asyncio.Future, ok: bool, value: Any) -> None:
    if future.done():
        return
    if ok:
        future.set_result(value)
    else:
        future.set_exception(value)


def _run_batch(conn: sqlite3.Connection, batch: list[Command]) -> list[tuple[bool, Any]]:
    """Runs on the writer thread: one transaction, a savepoint per command."""
    outcomes: list[tuple[bool, Any]] = []
    conn.execute("BEGIN IMMEDIATE")
    try:
        for command in batch:
            conn.execute("SAVEPOINT command")
            try:
                value = _execute(conn, command)
            except errors.StoreError as exc:
                conn.execute("ROLLBACK TO command")
                outcomes.append((False, exc))
            except sqlite3.Error as exc:
                conn.execute("ROLLBACK TO command")
                outcomes.append((False, translate(exc)))
            except Exception as exc:
                log.exception("write command %s failed", command.operation.__name__)
                conn.execute("ROLLBACK TO command")
                outcomes.append((False, errors.StoreUnavailable(f"write failed: {type(exc).__name__}")))
            else:
                outcomes.append((True, value))
            conn.execute("RELEASE command")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return outcomes


def _execute(conn: sqlite3.Connection, command: Command) -> Any:
    if command.claim is None:
        return command.operation(conn, *command.args)
    replay = idempotency.lookup(conn, command.claim)
    if replay is not None:
        return replay
    value = command.operation(conn, *command.args)
    idempotency.record(conn, command.claim, value)
    return value
