"""The feed's ear on PostgreSQL: one LISTEN connection per instance, which wakes its feed.

Every writing transaction of every instance notifies `vault_events` at
COMMIT with its xid (vault.store.postgres.events). The connection is held
for the instance's life; when it is lost it is opened again, and the feed
looks by itself every few seconds meanwhile (its safety poll), so a lost
notification delays events, never loses them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from functools import partial

import asyncpg
from vault.store.core.feed import Feed
from vault.store.postgres.connection import APPLICATION_NAME
from vault.store.postgres.events import CHANNEL, mark_of_notice

log = logging.getLogger(__name__)

RECONNECT_SECONDS = 1.0


class EventListener:
    def __init__(self, dsn: str, feed: Feed, timeout: float) -> None:
        self._dsn = dsn
        self._feed = feed
        self._timeout = timeout
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="vault-feed-listener")

    def stop(self) -> None:
        """Stop listening, at once; `close` waits until the connection is closed."""
        if self._task is not None:
            self._task.cancel()

    async def close(self) -> None:
        self.stop()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def _heard(self, conn: asyncpg.Connection, pid: int, channel: str, payload: str) -> None:
        self._feed.wake(mark_of_notice(payload))

    async def _run(self) -> None:
        while True:
            conn = None
            try:
                conn = await asyncpg.connect(
                    self._dsn, timeout=self._timeout, server_settings={"application_name": APPLICATION_NAME}
                )
                lost = asyncio.get_running_loop().create_future()
                conn.add_termination_listener(partial(_settle, lost))
                await conn.add_listener(CHANNEL, self._heard)
                # Whatever was committed while not listening is read now.
                self._feed.wake()
                await lost
                log.warning("the change feed's LISTEN connection was lost; opening it again")
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("the change feed cannot LISTEN (%s); retrying", exc)
            finally:
                if conn is not None and not conn.is_closed():
                    with contextlib.suppress(Exception):
                        await asyncio.shield(conn.close(timeout=1))
            await asyncio.sleep(RECONNECT_SECONDS)


def _settle(lost: asyncio.Future, _: asyncpg.Connection) -> None:
    if not lost.done():
        lost.set_result(None)
