"""Read replicas: which standby may serve a read that must see a given WAL position.

Each replica's replay position is cached, not asked before every read: a read
compares the position it needs with the cached one, which only ever lags the
truth (a standby's replay position only grows while its server runs). Two
background tasks keep the cache fresh: one every second for every replica (a
replica that is down is retried there), and one that runs every couple of
milliseconds only while a read is waiting for a replica to catch up, waking
that read as soon as a refresh shows a replica far enough.

A server that restarts may come back replaying from further behind than the
cache says, so every new connection to a replica reads the position again
before it is used (the pool's `init`): a stale cache can make a read wait or
go to the primary, never return older data.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

import asyncpg
from vault.store import errors
from vault.store.positions import ReplicaStatus, parse_lsn
from vault.store.postgres.connection import Pool, hosts_of, redact

log = logging.getLogger(__name__)
T = TypeVar("T")

# While a read waits for a replica: how often the replicas' positions are read.
REFRESH_WHILE_WAITING = 0.002
# Otherwise: how often every replica is read (lag for /metrics, a down replica retried).
REFRESH_IDLE = 1.0
# A replica that takes longer than this to say where it is counts as down.
CHECK_TIMEOUT = 1.0

# Lag in seconds: 0 when the standby has replayed all it received (an idle
# primary sends nothing, which is no lag), else the age of the last transaction
# it replayed.
POSITION = """
SELECT pg_is_in_recovery(),
       coalesce(pg_last_wal_replay_lsn(), '0/0')::text,
       CASE WHEN pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn() THEN 0
            ELSE coalesce(extract(epoch FROM now() - pg_last_xact_replay_timestamp()), 0)
       END::float8
"""

# Failures that say the server is gone or refusing, rather than that one query failed.
LOST = (
    OSError,
    TimeoutError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    errors.StoreUnavailable,
    errors.StoreClosed,
)


class ReplicaUnusable(Exception):
    """This replica cannot serve this read; the primary will."""


class Replica:
    def __init__(self, dsn: str, *, size: int, timeout: float, queue_max: int) -> None:
        self.name = ",".join(hosts_of(dsn)) or redact(dsn)
        self.pool = Pool(dsn, size=size, timeout=timeout, queue_max=queue_max, min_size=0, init=self._on_connect)
        self.position = 0  # replay LSN last read; 0 until known
        self.state = "unknown"
        self.lag_seconds = 0.0
        self.reads = 0
        # Bumped by every new connection: a refresh begun before it may carry an older server life's answer.
        self._epoch = 0

    @property
    def usable(self) -> bool:
        return self.state == "up"

    async def _on_connect(self, conn: asyncpg.Connection) -> None:
        self._epoch += 1
        self._apply(await conn.fetchrow(POSITION))

    def _apply(self, row: Any) -> None:
        in_recovery, replay, lag = row
        previous = self.state
        self.state = "up" if in_recovery else "not_in_recovery"
        self.position = parse_lsn(replay) if in_recovery else 0
        self.lag_seconds = max(0.0, float(lag))
        if previous != self.state:
            log.info("replica %s is %s", self.name, self.state)

    def lost(self, reason: BaseException) -> None:
        if self.state != "down":
            log.warning("replica %s is down: %s", self.name, str(reason).splitlines()[0] if str(reason) else reason)
        self.state = "down"
        # Back up, it may replay from behind where it was.
        self.position = 0

    async def refresh(self) -> None:
        epoch = self._epoch
        try:
            async with asyncio.timeout(CHECK_TIMEOUT):
                async with self.pool.connection() as conn:
                    row = await conn.fetchrow(POSITION)
        except errors.StoreBusy:
            return  # every connection busy serving reads: it is up; the next refresh will say where
        except Exception as exc:  # whatever the failure, a replica that cannot say where it is serves nothing
            self.lost(exc)
            return
        if epoch == self._epoch:
            self._apply(row)

    async def run(self, needed: int, query: Callable[..., Awaitable[T]], *args: Any) -> T:
        """Run a read here, if this replica has replayed `needed`; ReplicaUnusable otherwise."""
        try:
            async with self.pool.connection() as conn:
                # Checked again once connected: a new connection may have found the server further behind.
                if not self.usable or self.position < needed:
                    raise ReplicaUnusable(self.name)
                try:
                    value = await query(conn, *args)
                except errors.StoreError:
                    raise  # the read's own answer (not found, a bad reference)
                except LOST as exc:
                    self.lost(exc)
                    raise ReplicaUnusable(self.name) from exc
                except Exception as exc:  # a recovery conflict cancelled it, say: the primary answers instead
                    log.debug("read on replica %s failed, the primary answers: %s", self.name, exc)
                    raise ReplicaUnusable(self.name) from exc
        except LOST as exc:
            self.lost(exc)
            raise ReplicaUnusable(self.name) from exc
        except errors.StoreBusy as exc:
            raise ReplicaUnusable(self.name) from exc
        self.reads += 1
        return value


class ReplicaSet:
    """The replicas of one instance, their cached positions, and reads waiting for one to catch up."""

    def __init__(self, replicas: list[Replica], wait_seconds: float) -> None:
        self.replicas = replicas
        self._wait = wait_seconds
        self._turn = itertools.count()
        self._waiters: dict[asyncio.Future, int] = {}
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task] = []

    async def open(self) -> None:
        for replica in self.replicas:
            await replica.pool.open()
        # Known before the first request, so reads can go to replicas at once; one down stops nothing.
        await self.refresh_all()
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._refresh_idle()), loop.create_task(self._refresh_for_waiters())]

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for replica in self.replicas:
            await replica.pool.close()

    def _pick(self, needed: int) -> Replica | None:
        ready = [replica for replica in self.replicas if replica.usable and replica.position >= needed]
        if not ready:
            return None
        return ready[next(self._turn) % len(ready)]

    async def choose(self, needed: int) -> Replica | None:
        """A replica that has replayed `needed`, waiting for one at most the wait; None: use the primary."""
        replica = self._pick(needed)
        if replica is not None or self._wait <= 0 or not any(r.usable for r in self.replicas):
            return replica
        waiter = asyncio.get_running_loop().create_future()
        self._waiters[waiter] = needed
        self._wake.set()
        try:
            async with asyncio.timeout(self._wait):
                await waiter
        except TimeoutError:
            return None
        finally:
            self._waiters.pop(waiter, None)
        return self._pick(needed)

    async def refresh_all(self) -> None:
        await self._refresh(self.replicas)

    @staticmethod
    async def _refresh(replicas: Iterable[Replica]) -> None:
        await asyncio.gather(*(replica.refresh() for replica in replicas))

    def _resolve(self) -> None:
        best = max((r.position for r in self.replicas if r.usable), default=-1)
        for waiter, needed in list(self._waiters.items()):
            if needed <= best and not waiter.done():
                waiter.set_result(None)

    async def _refresh_idle(self) -> None:
        while True:
            await asyncio.sleep(REFRESH_IDLE)
            await self.refresh_all()
            self._resolve()

    async def _refresh_for_waiters(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._waiters:
                await self._refresh([r for r in self.replicas if r.usable])
                self._resolve()
                if self._waiters:
                    await asyncio.sleep(REFRESH_WHILE_WAITING)

    def statuses(self, primary_position: int | None) -> list[ReplicaStatus]:
        return [
            ReplicaStatus(
                name=replica.name,
                state=replica.state,
                replay_lsn=replica.position,
                lag_bytes=max(0, primary_position - replica.position)
                if primary_position is not None and replica.usable
                else None,
                lag_seconds=replica.lag_seconds,
                reads=replica.reads,
            )
            for replica in self.replicas
        ]
