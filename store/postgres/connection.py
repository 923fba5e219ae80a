"""PostgreSQL connections: the pool behind a bounded gate, and error translation.

asyncpg's pool queues waiters without bound; the contract wants an overloaded
service to answer 503 at once rather than queue forever, so a gate counts
callers and refuses past `pool size + queue_max`, and a caller that cannot get
a connection within the pool timeout is refused too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
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
    """asyncpg's pool with a bound on waiters and a timeout to get a connection.

    `min_size` 0 opens nothing at start (a replica that is down must not stop
    the service from starting); `init` runs on every new connection.
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
        # One turn per connection, handed out in order of arrival (see _turn).
        self._turns = asyncio.Semaphore(size)
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
        if self._pool is not None:
            await self._pool.expire_connections()

    @contextlib.asynccontextmanager
    async def connection(self) -> AsyncIterator[asyncpg.Connection]:
        pool = self._pool
        if self.closed or pool is None:
            raise errors.StoreClosed("the store is closed")
        if self._callers >= self._limit:
            raise errors.StoreBusy("too many requests are waiting for a database connection")
        self._callers += 1
        try:
            async with self._turn():
                conn = await self._acquire(pool)
                try:
                    yield conn
                finally:
                    await _release(pool, conn)
        finally:
            self._callers -= 1

    @contextlib.asynccontextmanager
    async def _turn(self) -> AsyncIterator[None]:
        """Wait for a connection in order of arrival.

        asyncpg's pool hands a connection that comes back to whichever caller
        asks next (an asyncio.Queue): a caller arriving at that moment takes it,
        and the one woken for it finds the queue empty and waits again at the
        back. Under steady load some callers waited seconds that way while
        others waited milliseconds. The semaphore hands each freed turn to the
        oldest waiter, and at most `size` callers then ask the pool, which
        always has a connection for them.
        """
        self.waiting += 1
        try:
            async with asyncio.timeout(self._timeout):
                await self._turns.acquire()
        except TimeoutError:
            raise errors.StoreBusy("no database connection came free in time") from None
        finally:
            self.waiting -= 1
        try:
            yield
        finally:
            self._turns.release()

    async def _acquire(self, pool: asyncpg.Pool) -> asyncpg.Connection:
        try:
            return await pool.acquire(timeout=self._timeout)
        except TimeoutError:
            raise errors.StoreBusy("no database connection came free in time") from None
        except CONNECTION_ERRORS as exc:
            if self.closed:
                raise errors.StoreClosed("the store is closed") from exc
            # The server is gone or refusing (stopped, restarting, unreachable): the pool
            # opens a fresh connection for the next caller, so this heals by itself.
            raise translate(exc) from exc

    def counts(self) -> dict[str, int]:
        """Connections in use and idle, callers waiting for one, and the most the pool opens."""
        pool = self._pool
        size = pool.get_size() if pool is not None else 0
        idle = pool.get_idle_size() if pool is not None else 0
        return {"in_use": size - idle, "idle": idle, "waiting": self.waiting, "max": self._size}

    async def close(self, timeout: float = 30.0) -> None:
        """Take no more callers, let those holding a connection finish, then close."""
        self.closed = True
        if self._pool is None:
            return
        pool, self._pool = self._pool, None
        try:
            await asyncio.wait_for(pool.close(), timeout)
        except TimeoutError:
            log.warning("database connections still busy after %.0fs at shutdown; closing them", timeout)
            pool.terminate()
