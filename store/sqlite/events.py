"""The change feed on SQLite: events recorded by the writer, read in id order.

The writer is the only connection that writes and it commits one
transaction at a time, so ids (AUTOINCREMENT, given inside the command's
savepoint) are handed out in commit order: a reader that has seen id n has
seen every committed event up to n.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

from vault.store.core import commands
from vault.store.core import feed_cursor as cursors
from vault.store.core.events import EventFilter, FeedEvent, NewEvent, events_of
from vault.store.core.feed_cursor import EventBounds, event_id
from vault.store.core.packing import Codec


def record(operation: Callable[..., Any]) -> Callable[..., Any]:
    """`operation`, followed by the insert of its events, in the command's savepoint."""

    def recorded(conn: sqlite3.Connection, command: commands.Command) -> Any:
        value = operation(conn, command)
        _insert(conn, events_of(command, value))
        return value

    return recorded


def _insert(conn: sqlite3.Connection, found: list[NewEvent]) -> None:
    """Insert the events in order; a run of them (an append's messages) in one statement.

    One INSERT of many rows writes AUTOINCREMENT's counter once, where a row
    each writes it every time: about a quarter of the cost per event.
    """
    for event in found:
        if event.count == 1:
            conn.execute(
                "INSERT INTO events (type, session_id, at, data, message_seq) VALUES (?, ?, ?, ?, ?)", *event.rows()
            )
            continue
        conn.execute(
            "WITH RECURSIVE seqs(seq) AS (SELECT ?4 UNION ALL SELECT seq + 1 FROM seqs WHERE seq < ?5)"
            " INSERT INTO events (type, session_id, at, data, message_seq)"
            " SELECT ?1, ?2, ?3, NULL, seq FROM seqs ORDER BY seq",
            (event.type, event.session_id, event.at, event.seq, event.seq + event.count - 1),
        )


def read_events(conn: sqlite3.Connection, codec: Codec, after: str, limit: int, only: EventFilter) -> list[FeedEvent]:
    conditions, values = ["e.id > ?"], [cursors.number_of(after)]
    if only.session_id is not None:
        conditions.append("e.session_id = ?")
        values.append(only.session_id)
    if only.types is not None:
        conditions.append(f"e.type IN ({', '.join('?' * len(only.types))})")
        values.extend(only.types)
    found = conn.execute(
        f"SELECT {cursors.EVENT_COLUMNS} FROM {cursors.EVENTS_WITH_MESSAGES}"
        f" WHERE {' AND '.join(conditions)} ORDER BY e.id LIMIT ?",
        (*values, limit),
    )
    return [cursors.feed_event(row, codec) for row in found]


def event_bounds(conn: sqlite3.Connection) -> EventBounds:
    oldest, newest = conn.execute("SELECT min(id), max(id) FROM events").fetchone()
    horizon = conn.execute("SELECT pruned_through FROM event_horizon").fetchone()
    return EventBounds(
        oldest=None if oldest is None else event_id(oldest),
        newest=None if newest is None else event_id(newest),
        pruned_through=None if horizon is None else horizon[0],
    )


def prune_events_chunk(conn: sqlite3.Connection, command: commands.PruneEventsChunk) -> int:
    deleted = conn.execute(
        "DELETE FROM events WHERE id IN (SELECT id FROM events WHERE at < ? ORDER BY id LIMIT ?) RETURNING id",
        (command.older_than, command.limit),
    ).fetchall()
    if deleted:
        conn.execute(
            "INSERT INTO event_horizon (id, pruned_through) VALUES (1, ?)"
            " ON CONFLICT (id) DO UPDATE SET pruned_through = max(pruned_through, excluded.pruned_through)",
            (event_id(max(row[0] for row in deleted)),),
        )
    return len(deleted)
