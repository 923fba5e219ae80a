"""The change feed on PostgreSQL: events in commit order across instances, without gaps.

A sequence is not commit order: transaction A may take id 7, transaction B
id 8, and B commit first. A reader that saw 8 and moved its cursor past it
would never deliver 7. Two sound ways out: serialize the outbox insert under
a lock held to COMMIT (every writing transaction of every instance then
waits for the previous one's commit, fsync included: no group commit), or
read ids only up to a horizon below which no transaction can still commit.
This module does the second, which costs a write nothing but its insert:

- The event insert is the last statement of its write's transaction, after
  every row lock the write takes: two writes to the same rows (one session's
  appends, say) take their ids in the order they commit. (Ordering events by
  transaction id instead would not do: a transaction may take its xid, then
  wait for another's row lock, and commit after a later xid.)
- The reader reads the sequence's last value L, and then which transactions
  of this database are running: every transaction that took an id up to L
  had written before (its record comes first), so it had its xid by then
  and, if not finished, is among them. Once each of them has ended (at once
  when there are none), ids up to L are final: each committed or rolled
  back. Every read reads only up to the newest final L (`SettledHorizon`; it
  waits a moment for those transactions to end), so no event can later
  appear below anything it has delivered.

A transaction that stays open holds back the events after it until it ends
(it cannot lose them). Each write notes the newest id its transaction took
(`noting_ids`); after COMMIT the instance wakes its own feed with it and
tells the others with a NOTIFY of its own (vault.store.postgres.listener),
and a feed keeps reading until it has passed every id it heard of.

Not a NOTIFY inside the writing transaction (a trigger did that before
migration 11): PostgreSQL serializes the commits of every transaction that
notifies under one lock held through its WAL flush, so each write waited
for the previous one's fsync, the very thing the horizon above avoids.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Iterator
from contextvars import ContextVar
from typing import Any

import asyncpg
from attrs import define
from vault.store.core import commands
from vault.store.core import feed_cursor as cursors
from vault.store.core.events import EventFilter, FeedEvent, events_of
from vault.store.core.feed_cursor import EventBounds, event_id
from vault.store.core.packing import Codec

CHANNEL = "vault_events"


def mark_of_notice(payload: str) -> str:
    """The id the feed must reach to have read the transaction a notification names."""
    return event_id(int(payload))


@define
class TakenIds:
    """The newest event id one attempt of a write took; 0: none."""

    newest: int = 0


# The write running in this task (PostgresStore._write sets it around each attempt).
_TAKING: ContextVar[TakenIds | None] = ContextVar("vault_event_ids_taken", default=None)


@contextlib.contextmanager
def noting_ids() -> Iterator[TakenIds]:
    """Note the event ids the statements run inside take, for the NOTIFY after COMMIT."""
    taken = TakenIds()
    token = _TAKING.set(taken)
    try:
        yield taken
    finally:
        _TAKING.reset(token)


def took(newest: int | None) -> None:
    """An insert into events of the write running now took ids up to `newest` (None: none)."""
    taken = _TAKING.get()
    if taken is not None and newest is not None and newest > taken.newest:
        taken.newest = newest


def record(operation: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    """`operation`, then the insert of its events: the transaction's last statement, after its locks."""

    async def recorded(conn: asyncpg.Connection, command: commands.Command) -> Any:
        value = await operation(conn, command)
        found = [row for event in events_of(command, value) for row in event.rows()]
        if len(found) == 1:
            took(
                await conn.fetchval(
                    "INSERT INTO events (type, session_id, at, data, message_seq) VALUES ($1, $2, $3, $4, $5)"
                    " RETURNING id",
                    *found[0],
                )
            )
        elif found:
            # One statement for a batch of messages: one round trip, ids in order.
            took(
                await conn.fetchval(
                    "WITH added AS (INSERT INTO events (type, session_id, at, data, message_seq)"
                    " SELECT type, session_id, at, data, seq"
                    " FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[])"
                    " WITH ORDINALITY AS e(type, session_id, at, data, seq, n) ORDER BY n RETURNING id)"
                    " SELECT max(id) FROM added",
                    *(list(column) for column in zip(*found, strict=True)),
                )
            )
        return value

    return recorded


# How long a read waits for the transactions running at its start to end before it answers
# with what is final already; transactions that write events last milliseconds.
SETTLE_WAIT_SECONDS = 0.5

# The transactions (pid:xid) writing in this database now. Only those can hold an event id:
# waiting for these, not for the cluster's oldest transaction (its snapshot xmin), keeps other
# databases' work from holding the feed back. Rows of other roles' sessions hide their xid
# unless the role may read all statistics: counted, so the cluster-wide rule takes over then.
RUNNING_HERE = """
    SELECT coalesce(array_agg(pid || ':' || backend_xid) FILTER (WHERE backend_xid IS NOT NULL), '{}'),
           count(*) FILTER (WHERE state IS NULL AND backend_type = 'client backend')
    FROM pg_stat_activity
    WHERE datid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND pid <> pg_backend_pid()
"""
RUNNING_ANYWHERE = (
    "SELECT pg_snapshot_xmin(s)::text::bigint, pg_snapshot_xmax(s)::text::bigint FROM pg_current_snapshot() s"
)


@define
class SettledHorizon:
    """The newest event id below which no transaction can still commit, as this instance last saw it."""

    settled: int = 0

    async def advance(self, conn: asyncpg.Connection) -> int:
        last = await conn.fetchval("SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM events_id_seq")
        if last <= self.settled:
            return self.settled
        # Statements of their own, after the one above: what they see is later than L.
        running, hidden = await conn.fetchrow(RUNNING_HERE)
        ended = _ended_here(set(running)) if not hidden else _ended_anywhere(*await conn.fetchrow(RUNNING_ANYWHERE))
        delay, deadline = 0.001, time.monotonic() + SETTLE_WAIT_SECONDS
        while not await ended(conn):
            if time.monotonic() >= deadline:
                return self.settled
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.02)
        self.settled = max(self.settled, last)
        return self.settled


def _ended_here(running: set[str]) -> Callable[[asyncpg.Connection], Awaitable[bool]]:
    """Whether every one of these transactions of this database has ended."""

    async def ended(conn: asyncpg.Connection) -> bool:
        nonlocal running
        if running:
            running &= set((await conn.fetchrow(RUNNING_HERE))[0])
        return not running

    return ended


def _ended_anywhere(xmin: int, xmax: int) -> Callable[[asyncpg.Connection], Awaitable[bool]]:
    """Whether every transaction of the cluster running at a snapshot (xmin, xmax) has ended."""

    async def ended(conn: asyncpg.Connection) -> bool:
        nonlocal xmin
        if xmin < xmax:
            xmin = (await conn.fetchrow(RUNNING_ANYWHERE))[0]
        return xmin >= xmax

    return ended


async def read_events(
    conn: asyncpg.Connection, horizon: SettledHorizon, codec: Codec, after: str, limit: int, only: EventFilter
) -> list[FeedEvent]:
    settled = await horizon.advance(conn)
    conditions, values = ["e.id > $1", "e.id <= $2"], [cursors.number_of(after), settled]
    if only.session_id is not None:
        values.append(only.session_id)
        conditions.append(f"e.session_id = ${len(values)}")
    if only.types is not None:
        values.append(list(only.types))
        conditions.append(f"e.type = ANY(${len(values)}::text[])")
    values.append(limit)
    found = await conn.fetch(
        f"SELECT {cursors.EVENT_COLUMNS} FROM {cursors.EVENTS_WITH_MESSAGES} WHERE {' AND '.join(conditions)}"
        f" ORDER BY e.id LIMIT ${len(values)}",
        *values,
    )
    return [cursors.feed_event(row, codec) for row in found]


async def event_bounds(conn: asyncpg.Connection, horizon: SettledHorizon) -> EventBounds:
    settled = await horizon.advance(conn)
    oldest, newest = await conn.fetchrow("SELECT min(id), max(id) FROM events WHERE id <= $1", settled)
    horizon_row = await conn.fetchval("SELECT pruned_through FROM event_horizon")
    return EventBounds(
        oldest=None if oldest is None else event_id(oldest),
        newest=None if newest is None else event_id(newest),
        pruned_through=horizon_row,
    )


async def prune_events_chunk(conn: asyncpg.Connection, command: commands.PruneEventsChunk) -> int:
    # Events hours old: a transaction open that long is the only one whose event could sort
    # below the new horizon, and it would still be delivered live; only a resume would say 410.
    deleted = await conn.fetch(
        "DELETE FROM events WHERE id IN (SELECT id FROM events WHERE at < $1 ORDER BY id LIMIT $2) RETURNING id",
        command.older_than,
        command.limit,
    )
    if deleted:
        await conn.execute(
            "INSERT INTO event_horizon (id, pruned_through) VALUES (1, $1)"
            " ON CONFLICT (id) DO UPDATE"
            " SET pruned_through = greatest(event_horizon.pruned_through, excluded.pruned_through)",
            event_id(max(row[0] for row in deleted)),
        )
    return len(deleted)
