"""The change feed on PostgreSQL: events in commit order across instances, without gaps.

A sequence is not commit order: transaction A may take id 7, transaction B
id 8, and B commit first. A reader that saw 8 and moved its cursor past it
would never deliver 7. Two sound ways out: serialize the outbox insert
under a lock held to COMMIT (every writing transaction of every instance
then waits for the previous one's commit, fsync included), or order events
by their transaction and read only transactions that can no longer commit.
This module does the second, which costs a write nothing:

- each event row records its transaction's id (`xid`, the column's default:
  `pg_current_xact_id()`), and events are ordered by (xid, id);
- a read takes only events whose xid is below its snapshot's xmin, the
  oldest transaction still running: every transaction below it has
  committed or rolled back, so no event can appear later below that bound.
  Anything still running, or starting later, gets an xid at or above it,
  so the (xid, id) of any event yet to be read sorts after every event
  already read.

An event id is (xid, id), each zero-padded to 20 digits: the text sorts as
the pair does. Delivery order is the order transactions first wrote, which
keeps every causal order (a write made after another's answer has the
larger xid); a long transaction holds back the events after it until it
ends, never loses them. Each writing transaction sends one NOTIFY (a
statement trigger, no extra round trip) carrying its xid; the feed keeps
reading until it has passed every xid it heard of.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
from vault.store.core import commands
from vault.store.core.events import EventFilter, FeedEvent, events_of
from vault.store.core.feed_cursor import EventBounds

CHANNEL = "vault_events"
PART_DIGITS = 20
COLUMNS = "xid, id, type, session_id, at, data"
# Transactions below this have all ended: their events are all visible, and no more will come.
SETTLED = "xid < pg_snapshot_xmin(pg_current_snapshot())::text::bigint"


def event_id(xid: int, number: int) -> str:
    return f"{xid:0{PART_DIGITS}d}{number:0{PART_DIGITS}d}"


def _pair(cursor: str) -> tuple[int, int]:
    if not cursor:
        return (0, 0)
    return int(cursor[:PART_DIGITS]), int(cursor[PART_DIGITS:])


def mark_of_notice(payload: str) -> str:
    """The id the feed must pass to have read the transaction a notification names."""
    return event_id(int(payload), 0)


def record(operation: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    """`operation`, followed by the insert of its events, in the command's transaction."""

    async def recorded(conn: asyncpg.Connection, command: commands.Command) -> Any:
        value = await operation(conn, command)
        found = events_of(command, value)
        if len(found) == 1:
            await conn.execute(
                "INSERT INTO events (type, session_id, at, data) VALUES ($1, $2, $3, $4)", *found[0].row()
            )
        elif found:
            # One statement for a batch of messages: one round trip, one trigger run.
            await conn.execute(
                "INSERT INTO events (type, session_id, at, data)"
                " SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])",
                *(list(column) for column in zip(*(event.row() for event in found), strict=True)),
            )
        return value

    return recorded


async def read_events(conn: asyncpg.Connection, after: str, limit: int, only: EventFilter) -> list[FeedEvent]:
    xid, number = _pair(after)
    conditions, values = ["(xid, id) > ($1, $2)", SETTLED], [xid, number]
    if only.session_id is not None:
        values.append(only.session_id)
        conditions.append(f"session_id = ${len(values)}")
    if only.types is not None:
        values.append(list(only.types))
        conditions.append(f"type = ANY(${len(values)}::text[])")
    values.append(limit)
    found = await conn.fetch(
        f"SELECT {COLUMNS} FROM events WHERE {' AND '.join(conditions)} ORDER BY xid, id LIMIT ${len(values)}",
        *values,
    )
    return [FeedEvent(event_id(row[0], row[1]), row[2], row[3], row[4], row[5]) for row in found]


async def event_bounds(conn: asyncpg.Connection) -> EventBounds:
    oldest = await conn.fetchrow(f"SELECT xid, id FROM events WHERE {SETTLED} ORDER BY xid, id LIMIT 1")
    newest = await conn.fetchrow(f"SELECT xid, id FROM events WHERE {SETTLED} ORDER BY xid DESC, id DESC LIMIT 1")
    horizon = await conn.fetchval("SELECT pruned_through FROM event_horizon")
    return EventBounds(
        oldest=None if oldest is None else event_id(*oldest),
        newest=None if newest is None else event_id(*newest),
        pruned_through=horizon,
    )


async def prune_events_chunk(conn: asyncpg.Connection, command: commands.PruneEventsChunk) -> int:
    # Only settled events: one of a transaction still running could otherwise sort below the horizon.
    deleted = await conn.fetch(
        "DELETE FROM events WHERE (xid, id) IN"
        f" (SELECT xid, id FROM events WHERE at < $1 AND {SETTLED} ORDER BY xid, id LIMIT $2) RETURNING xid, id",
        command.older_than,
        command.limit,
    )
    if deleted:
        await conn.execute(
            "INSERT INTO event_horizon (id, pruned_through) VALUES (1, $1)"
            " ON CONFLICT (id) DO UPDATE"
            " SET pruned_through = greatest(event_horizon.pruned_through, excluded.pruned_through)",
            max(event_id(row[0], row[1]) for row in deleted),
        )
    return len(deleted)
