"""The feed's ear and mouth on PostgreSQL: one connection per instance, which LISTENs and NOTIFYs.

Ear: every notification on `vault_events` (from any instance, this one
included) wakes this instance's feed with the event id it names.

Mouth: after a write commits, the store announces the newest event id it
took (vault.store.postgres.events). The announcement is a NOTIFY sent on
this connection, in a transaction of its own, never inside the write:
PostgreSQL serializes the commits of notifying transactions under one lock
held through their WAL flush. Here at most one NOTIFY is in flight, the
next goes no sooner than NOTICE_GAP_SECONDS later and names the newest id
announced meanwhile, and the connection commits them without waiting for
the flush (synchronous_commit off: a notification is not durable anyway).

The connection is held for the instance's life; when it is lost it is
opened again, and every feed looks by itself every few seconds meanwhile
(its safety poll), so a lost notification (or an instance that dies between
its commit and its NOTIFY) delays events, never loses them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from functools import partial

import asyncpg
from vault.store.core.feed import Feed
from vault.store.postgres.connection import APPLICATION_NAME, CONNECTION_ERRORS
from vault.store.postgres.events import CHANNEL, mark_of_notice

log = logging.getLogger(__name__)

RECONNECT_SECONDS = 1.0
# The least time between two NOTIFYs of one instance: under load one tells of many commits.
NOTICE_GAP_SECONDS = 0.002


class EventListener:
    def __init__(self, dsn: str, feed: Feed, timeout: float) -> None:
        self._dsn = dsn
        self._feed = feed
        self._timeout = timeout
        self._task: asyncio.Task | None = None
        self._conn: asyncpg.Connection | None = None
        # The newest event id committed here, and the newest told to the others.
        self._committed = 0
        self._told = 0
        self._telling: asyncio.Task | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="vault-feed-listener")

    def stop(self) -> None:
        """Stop listening, at once; `close` waits until the connection is closed."""
        if self._task is not None:
            self._task.cancel()
        if self._telling is not None:
            self._telling.cancel()

    async def close(self) -> None:
        self.stop()
        for task in (self._task, self._telling):
            if task is not None:
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    def announce(self, newest: int) -> None:
        """A write of this instance committed, taking event ids up to `newest`: tell every instance."""
        if newest > self._committed:
            self._committed = newest
        if self._telling is None or self._telling.done():
            self._telling = asyncio.get_running_loop().create_task(self._tell(), name="vault-feed-notify")

    async def _tell(self) -> None:
        while self._committed > self._told:
            conn = self._conn
            if conn is None or conn.is_closed():
                return  # not connected: the others' safety poll finds these events
            newest = self._committed
            try:
                await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, str(newest))
            except CONNECTION_ERRORS as exc:
                log.debug("the change feed's NOTIFY was not sent: %s", exc)
                return
            self._told = newest
            await asyncio.sleep(NOTICE_GAP_SECONDS)

    def _heard(self, conn: asyncpg.Connection, pid: int, channel: str, payload: str) -> None:
        self._feed.wake(mark_of_notice(payload))

    async def _run(self) -> None:
        while True:
            conn = None
            try:
                conn = await asyncpg.connect(
                    self._dsn,
                    timeout=self._timeout,
                    server_settings={"application_name": APPLICATION_NAME, "synchronous_commit": "off"},
                )
                lost = asyncio.get_running_loop().create_future()
                conn.add_termination_listener(partial(_settle, lost))
                await conn.add_listener(CHANNEL, self._heard)
                self._conn = conn
                # Whatever was committed while not listening is read now.
                self._feed.wake()
                await lost
                log.warning("the change feed's LISTEN connection was lost; opening it again")
            except (*CONNECTION_ERRORS, TimeoutError) as exc:
                # Whatever ended the connection (the server, its shutdown, a session killed while
                # LISTEN was on its way), listening goes on with a new one.
                log.warning("the change feed cannot LISTEN (%s); retrying", exc)
            finally:
                self._conn = None
                if conn is not None and not conn.is_closed():
                    with contextlib.suppress(Exception):
                        await asyncio.shield(conn.close(timeout=1))
            await asyncio.sleep(RECONNECT_SECONDS)


def _settle(lost: asyncio.Future, _: asyncpg.Connection) -> None:
    if not lost.done():
        lost.set_result(None)
