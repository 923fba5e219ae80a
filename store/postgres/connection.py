"""PostgreSQL connections: the pool behind a bounded gate, and error translation.

asyncpg's pool queues waiters without bound; the contract wants an overloaded
service to answer 503 at once rather than queue forever, so a gate counts
callers and refuses past `pool size + queue_max`, and a caller that cannot get
a connection within the pool timeout is refused too.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg
from vault.store import errors

log = logging.getLogger(__name__)

# The one place The Vault names its connections in pg_stat_activity.
APPLICATION_NAME = "the-vault"


def redact(dsn: str) -> str:
    """The URL without its password, for messages and logs.

    Worked out on the text of the netloc: urlsplit's port property fails on a
    URL naming several hosts (`h1:5432,h2:5433`).
    """
    parts = urlsplit(dsn)
    userinfo, at, hosts = parts.netloc.rpartition("@")
    if not at or ":" not in userinfo:
        return dsn
    user = userinfo.partition(":")[0]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{hosts}"))


def hosts_of(dsn: str) -> list[str]:
    """The `host:port` entries a URL names, as written (several for a primary and its standbys)."""
    netloc = urlsplit(dsn).netloc.rpartition("@")[2]
    return [host for host in netloc.split(",") if host]


def primary_dsn(dsn: str) -> str:
    """The URL for writes: with several hosts, connect only to one that takes writes.

    asyncpg tries the hosts in order and, by default (`any`), keeps the first
    that answers, which after a failover may be the old primary come back as a
    standby, or a standby listed first. `read-write` makes every new connection
    (the pool's, a job's lock, a backup's) skip to the one that takes writes; a
    URL that names target_session_attrs itself is left as written.
    """
    parts = urlsplit(dsn)
    query = parse_qsl(parts.query, keep_blank_values=True)
    if len(hosts_of(dsn)) < 2 or any(name == "target_session_attrs" for name, _ in query):
        return dsn
    query.append(("target_session_attrs", "read-write"))
    return urlunsplit(parts._replace(query=urlencode(query)))


def translate(error: BaseException) -> errors.StoreError:
    """Turn a PostgreSQL or driver failure into the store error the HTTP layer knows."""
    if isinstance(error, errors.StoreError):
        return error
    if isinstance(error, asyncpg.DiskFullError):
        return errors.DiskFull("the database disk is full")
    if isinstance(error, asyncpg.ReadOnlySQLTransactionError):
        return errors.StoreReadOnly("the database is read-only (a standby, or default_transaction_read_only)")
    if isinstance(error, asyncpg.InsufficientResourcesError):
        # Out of memory, connections or configured limits: a retry may well succeed.
        return errors.StoreBusy(f"the database is short of resources ({error.sqlstate})")
    if isinstance(
        error,
        (
            asyncpg.TooManyConnectionsError,
            asyncpg.LockNotAvailableError,
            asyncpg.QueryCanceledError,
            asyncpg.SerializationError,
            asyncpg.DeadlockDetectedError,
            TimeoutError,
        ),
    ):
        return errors.StoreBusy("the database is busy; retry shortly")
    if isinstance(error, asyncpg.DataError):
        # Class 22, or a value the driver could not encode: PostgreSQL text cannot
        # hold a NUL character or an unpaired surrogate that SQLite would keep.
        return errors.InvalidReference(["body"], f"a value cannot be stored: {_first_line(error)}")
    if isinstance(error, asyncpg.PostgresError):
        return errors.StoreUnavailable(f"database error {error.sqlstate}: {_first_line(error)}")
    if isinstance(error, (OSError, asyncpg.InterfaceError, asyncpg.InternalClientError)):
        return errors.StoreUnavailable(f"the database cannot be reached: {_first_line(error)}")
    return errors.StoreUnavailable(f"write failed: {type(error).__name__}")


def _first_line(error: BaseException) -> str:
    return (str(error).splitlines() or [type(error).__name__])[0]


def storable(text: str) -> bool:
    """Whether PostgreSQL text can hold `text`: no NUL and no unpaired surrogate.

    A key that cannot be stored cannot have been stored, so reads answer
    "not found" for it instead of sending it to the server.
    """
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


# What acquiring or using a connection raises when the server went away or will not
# take connections (CannotConnectNowError and AdminShutdownError are PostgresErrors;
# ConnectionDoesNotExistError and a closed pool are InterfaceErrors; a query sent on a
# connection whose server just went away can fail as an InternalClientError).
CONNECTION_ERRORS = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, asyncpg.InternalClientError)
# Of those, what says the server (or the way to it) is gone rather than that a statement failed:
# a write drops the pool's connections then, so new ones find the primary (after a failover, a
# promoted standby). A statement's own error (bad data, a constraint) leaves them be.
SERVER_GONE = (
    OSError,
    TimeoutError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    asyncpg.PostgresConnectionError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.CannotConnectNowError,
)


async def _release(pool: asyncpg.Pool, conn: asyncpg.Connection) -> None:
    try:
        await pool.release(conn)
    except CONNECTION_ERRORS as exc:
        # A broken connection is dropped by the pool either way; the caller's own
        # answer (or error) is what counts, not this one.
        log.debug("a database connection could not be returned to the pool: %s", _first_line(exc))


async def _undo_open_transaction(conn: asyncpg.Connection) -> None:
    """What a connection needs on its way back to the pool: at most a ROLLBACK.

    asyncpg's own reset (unlock advisory locks, close cursors, UNLISTEN, RESET
    ALL) is a round trip on every release, as long as the query it follows.
    The store's pool connections keep no session state: their advisory locks
    are transaction-scoped, and session-level locks and LISTEN use connections
    of their own. Only a caller cut off inside a transaction leaves one open.
    """
    if conn.is_in_transaction():
        await conn.execute("ROLLBACK")


class Pool:
    """asyncpg's pool behind a gate: callers served in order of arrival, a bound on waiters, a timeout.

    `min_size` 0 opens nothing at start (a replica that is down must not stop
    the service from starting); `init` runs on every new connection.

    A connection taken from asyncpg's pool is kept here while it serves well:
    going through asyncpg's acquire and release costs a task and a timer each
    way, about as much CPU as the query itself. A use that ends cleanly puts
    it back here (after a ROLLBACK if a transaction was left open); any other
    end (an error, a cancellation, a connection closed or expired, the pool
    closing) returns it to asyncpg's pool, whose release waits out a
    cancelled query and closes a connection it cannot reset. Connections
    returned without a caller waiting on them (expired, or idle at close)
    are returned by a task of the pool's own, all at once, so that neither
    a request nor a cancellation waits on, or cuts short, closing them.

    Callers are served in order of arrival. asyncpg's pool hands a connection
    that comes back to whichever caller asks next, so under steady load some
    callers waited seconds while others waited milliseconds; here a freed
    connection (or a free place for one) goes to the oldest waiter.
    """

    def __init__(
        self,
        dsn: str,
        *,
        size: int,
        timeout: float,
        queue_max: int,
        min_size: int = 2,
        init: Callable[[asyncpg.Connection], Awaitable[None]] | None = None,
    ) -> None:
        self.dsn = dsn
        self._size = size
        self._min_size = min(min_size, size)
        self._init = init
        self._timeout = timeout
        self._limit = size + queue_max
        self._pool: asyncpg.Pool | None = None
        self._callers = 0
        # Places: connections taken from asyncpg's pool (idle here, in a caller's hands, or
        # on their way back) and places granted to a waiter that is taking one.
        self._taken = 0
        self._idle: collections.deque[asyncpg.Connection] = collections.deque()
        # Each connection's generation when taken: expire() makes every older one go back to asyncpg.
        self._generation = 0
        self._born: dict[asyncpg.Connection, int] = {}
        # Waiters, oldest first; each is granted a connection, or None: a free place to take one.
        self._waiters: collections.deque[asyncio.Future] = collections.deque()
        self._returning: set[asyncio.Task] = set()
        self.waiting = 0
        self.closed = False

    async def open(self) -> None:
        self._pool = await asyncpg.create_pool(
            self.dsn,
            min_size=self._min_size,
            max_size=self._size,
            timeout=self._timeout,
            init=self._init,
            reset=_undo_open_transaction,
            server_settings={"application_name": APPLICATION_NAME},
        )

    async def expire(self) -> None:
        """Drop every open connection (idle ones now, busy ones when returned): the next
        caller connects afresh, which after a failover finds the new primary."""
        pool = self._pool
        if pool is None:
            return
        self._generation += 1
        await pool.expire_connections()
        idle = self._take_all_idle()
        for conn in idle:
            # Idle, so no query is cut short: closed at once, not with a goodbye that a
            # server gone silent would keep waiting the whole timeout for.
            with contextlib.suppress(*CONNECTION_ERRORS):
                conn.terminate()
        self._return_soon(idle)

    def connection(self) -> _Lease:
        """`async with pool.connection() as conn`: a connection for this caller alone until the block ends."""
        return _Lease(self)

    async def _take(self) -> asyncpg.Connection:
        pool = self._pool
        if self.closed or pool is None:
            raise errors.StoreClosed("the store is closed")
        if self._callers >= self._limit:
            raise errors.StoreBusy("too many requests are waiting for a database connection")
        self._callers += 1
        try:
            # While anyone waits, a newcomer waits behind them (see _hand_on).
            if not self._waiters:
                while self._idle:
                    conn = self._idle.pop()
                    if self._keeps(conn):
                        return conn
                    self._return_soon([conn])
                if self._taken < self._size:
                    self._taken += 1
                    return await self._acquire(pool)
            granted = await self._wait()
            return granted if granted is not None else await self._acquire(pool)
        except BaseException:
            self._callers -= 1
            raise

    async def _wait(self) -> asyncpg.Connection | None:
        loop = asyncio.get_running_loop()
        granted = loop.create_future()
        self._waiters.append(granted)
        self.waiting += 1
        # A timer on the future itself, not asyncio.timeout: the future is then granted or
        # timed out, never both, and waiting costs one timer.
        deadline = loop.call_later(self._timeout, self._time_out, granted)
        try:
            conn = await granted
        except BaseException:
            self._leave_line(granted)
            raise
        finally:
            deadline.cancel()
            self.waiting -= 1
        if conn is not None and not self._keeps(conn):
            # Its server session ended (or it expired) on its way here: take a new one in its place.
            self._return_soon([conn], keep_place=True)
            return None
        return conn

    def _time_out(self, granted: asyncio.Future) -> None:
        if not granted.done():
            granted.set_exception(errors.StoreBusy("no database connection came free in time"))

    def _leave_line(self, granted: asyncio.Future) -> None:
        """A waiter leaves the line without a connection (its time ran out, it was cancelled,
        the pool closed); one granted to it at that very moment goes to the next in line."""
        if granted.done() and not granted.cancelled() and granted.exception() is None:
            conn = granted.result()
            if conn is None:
                self._place_freed()
            else:
                self._hand_on(conn)
            return
        granted.cancel()
        with contextlib.suppress(ValueError):
            self._waiters.remove(granted)

    async def _acquire(self, pool: asyncpg.Pool) -> asyncpg.Connection:
        """A connection from asyncpg's pool, for a place already counted in `_taken`."""
        generation = self._generation
        try:
            conn = await pool.acquire(timeout=self._timeout)
        except BaseException as exc:
            self._place_freed()
            if isinstance(exc, TimeoutError):
                raise errors.StoreBusy("no database connection came free in time") from None
            if isinstance(exc, CONNECTION_ERRORS):
                if self.closed:
                    raise errors.StoreClosed("the store is closed") from exc
                # The server is gone or refusing (stopped, restarting, unreachable): the pool
                # opens a fresh connection for the next caller, so this heals by itself.
                raise translate(exc) from exc
            raise
        # The generation before the wait: a connection acquired across an expire() is not kept.
        self._born[conn] = generation
        return conn

    async def _give_back(self, conn: asyncpg.Connection, clean: bool) -> None:
        self._callers -= 1
        if clean and self._keeps(conn):
            if not conn.is_in_transaction():
                self._offer(conn)  # just checked: the common case costs one check
                return
            # Only a caller cut off inside a transaction leaves one open.
            try:
                await conn.execute("ROLLBACK")
            except CONNECTION_ERRORS as exc:
                log.debug("a database connection could not roll back on its way back: %s", _first_line(exc))
            except BaseException:
                self._return_soon([conn])
                raise
            else:
                self._hand_on(conn)  # checked again: the pool may have closed or expired meanwhile
                return
        await self._back_to_asyncpg(conn)

    def _usable(self, conn: asyncpg.Connection) -> bool:
        """Open and still ours: asyncpg takes a connection back by itself when its session ends."""
        try:
            return not conn.is_closed()
        except asyncpg.InterfaceError:
            return False

    def _keeps(self, conn: asyncpg.Connection) -> bool:
        return not self.closed and self._born.get(conn) == self._generation and self._usable(conn)

    async def _back_to_asyncpg(self, conn: asyncpg.Connection, free_place: bool = True) -> None:
        """Return a connection to asyncpg's pool, which resets or closes it; then its place is freed."""
        try:
            self._born.pop(conn, None)
            if self._pool is not None:
                await _release(self._pool, conn)
        finally:
            if free_place:
                self._place_freed()

    def _return_soon(self, conns: list[asyncpg.Connection], keep_place: bool = False) -> None:
        """Return connections to asyncpg's pool from a task of the pool's own, all at once.

        Their places are freed as each is back (closing one whose server went
        silent may take the whole timeout); with `keep_place`, the caller keeps
        the one place and takes a new connection in it.
        """
        if not conns:
            return

        async def release_all() -> None:
            await asyncio.gather(*(self._back_to_asyncpg(conn, not keep_place) for conn in conns))

        task = asyncio.get_running_loop().create_task(release_all(), name="vault-pool-return")
        self._returning.add(task)
        task.add_done_callback(self._returning.discard)

    def _take_all_idle(self) -> list[asyncpg.Connection]:
        idle, self._idle = list(self._idle), collections.deque()
        return idle

    def _hand_on(self, conn: asyncpg.Connection) -> None:
        """A connection free for the next caller, if the pool still keeps it (see _offer)."""
        if self._keeps(conn):
            self._offer(conn)
        else:
            self._return_soon([conn])

    def _offer(self, conn: asyncpg.Connection) -> None:
        """A connection the pool keeps, free for the next caller: the oldest waiter's, or idle here."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(conn)
                return
        self._idle.append(conn)

    def _place_freed(self) -> None:
        """A connection went back to asyncpg's pool: the oldest waiter may take one, or the place is free."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self._taken -= 1

    def counts(self) -> dict[str, int]:
        """Connections in use and idle, callers waiting for one, and the most the pool opens."""
        pool = self._pool
        size = pool.get_size() if pool is not None else 0
        in_use = max(0, min(size, self._taken - len(self._idle)))
        return {"in_use": in_use, "idle": size - in_use, "waiting": self.waiting, "max": self._size}

    async def close(self, timeout: float = 30.0) -> None:
        """Take no more callers, let those holding a connection finish, then close."""
        if self.closed:
            return
        self.closed = True
        pool = self._pool
        if pool is None:
            return
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_exception(errors.StoreClosed("the store is closed"))
        self._return_soon(self._take_all_idle())
        try:
            await asyncio.wait_for(pool.close(), timeout)
        except TimeoutError:
            log.warning("database connections still busy after %.0fs at shutdown; closing them", timeout)
            pool.terminate()
        for task in list(self._returning):
            task.cancel()


class _Lease:
    """One use of a pooled connection (a class, not a generator: it runs for every query)."""

    __slots__ = ("_conn", "_pool")

    def __init__(self, pool: Pool) -> None:
        self._pool = pool
        self._conn: asyncpg.Connection | None = None

    async def __aenter__(self) -> asyncpg.Connection:
        self._conn = await self._pool._take()
        return self._conn

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: Any) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            # Only a use that ended without an error keeps its connection here; after any
            # error asyncpg's release decides (a cancelled query, a broken connection).
            await self._pool._give_back(conn, clean=kind is None)
