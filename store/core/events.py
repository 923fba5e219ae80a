"""The change feed's events: which writes record which events, and how an event reads.

Every write of sessions, history, state and artifacts records its events in
its own transaction (an outbox table, `events`): the backend's operations
table wraps each such operation with `recording` (vault.store.sqlite.operations,
vault.store.postgres.operations), so an event is inserted inside the
command's savepoint or transaction and rolls back with it. A replayed
idempotent request runs no operation and so records nothing new.

An event's `data` is kept as the JSON text a read would answer (the record
the write returned, as the converter unstructures it), so the feed serves
it without reading the record again; a deletion's event has none. A
message's event keeps only its seq: its data is the message row, read with
the event (packed as history keeps it, never stored twice, nothing encoded
on the writer), so a message deleted since (history cleared, session
deleted) comes without data.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import orjson
from attrs import frozen
from vault.store.core import commands

from vault import clock, jsonutil
from vault.converter import unstructure

# An appended message's event (vault.store.postgres.appends writes it in SQL too).
MESSAGE_CREATED = "message.created"
EVENT_TYPES: tuple[str, ...] = (
    "session.created",
    "session.updated",
    "session.deleted",
    MESSAGE_CREATED,
    "history.cleared",
    "state.updated",
    "state.deleted",
    "artifact.created",
    "artifact.deleted",
)


@frozen
class NewEvent:
    """An event as its write records it; the backend gives it its id."""

    type: str
    session_id: str | None
    at: str
    # The record as JSON text, as a read would answer it; None for a deletion or a message.
    data: str | None
    # A message's seq in its session: its data is read from the message's row.
    seq: int | None = None
    # An append's messages are one NewEvent: `count` events, for the seqs from `seq` on.
    count: int = 1

    def rows(self) -> list[tuple[str, str | None, str, str | None, int | None]]:
        """Values for (type, session_id, at, data, message_seq), one tuple per event."""
        if self.seq is None:
            return [(self.type, self.session_id, self.at, self.data, None)]
        return [(self.type, self.session_id, self.at, self.data, seq) for seq in range(self.seq, self.seq + self.count)]


@frozen
class FeedEvent:
    """A committed event, as the feed serves it."""

    id: str
    type: str
    session_id: str | None
    at: str
    data: str | None

    def json(self) -> str:
        """The event as JSON text, its data spliced in as kept (never decoded)."""
        head = orjson.dumps({"id": self.id, "type": self.type, "session_id": self.session_id, "at": self.at})
        if self.data is None:
            return head.decode()
        return f'{head[:-1].decode()},"data":{self.data}}}'


def _json(record: Any) -> str:
    return jsonutil.dumps(unstructure(record)).decode()


def _one(kind: str, session_id: str | None, record: Any = None) -> list[NewEvent]:
    return [NewEvent(kind, session_id, clock.now_text(), None if record is None else _json(record))]


def events_of(command: commands.Command, value: Any) -> list[NewEvent]:
    """The events a command's committed write records, from the command and what its operation answered."""
    match command:
        case commands.CreateSession() | commands.CreateKeyedSession():
            return _one("session.created", value.id, value)
        case commands.UpdateSession():
            return _one("session.updated", value.id, value)
        case commands.DeleteSession():
            return _one("session.deleted", command.session_id)
        case commands.AddMessages():
            appended = len(value.prepared)
            if not appended:
                return []
            return [NewEvent(MESSAGE_CREATED, command.session_id, command.now, None, value.first_seq, appended)]
        case commands.ClearHistory():
            return _one("history.cleared", command.session_id)
        case commands.PutState() | commands.PatchState():
            return _one("state.updated", value.session_id, value)
        case commands.DeleteState():
            # Deleting a state that was never written changes nothing: no event.
            return _one("state.deleted", value.session_id) if value.version > 0 else []
        case commands.CreateArtifact():
            return _one("artifact.created", value.session_id, value)
        case commands.DeleteArtifact():
            return _one("artifact.deleted", value.session_id)
    return []


# The commands whose writes record events; every other operation runs unwrapped.
RECORDED: tuple[type[commands.Command], ...] = (
    commands.CreateSession,
    commands.CreateKeyedSession,
    commands.UpdateSession,
    commands.DeleteSession,
    commands.AddMessages,
    commands.ClearHistory,
    commands.PutState,
    commands.PatchState,
    commands.DeleteState,
    commands.CreateArtifact,
    commands.DeleteArtifact,
)


def recording(
    operations: dict[type[commands.Command], Callable[..., Any]],
    wrap: Callable[[Callable[..., Any]], Callable[..., Any]],
) -> dict[type[commands.Command], Callable[..., Any]]:
    """The operations table with each recorded command's function wrapped by `wrap` (the backend's insert)."""
    return {kind: wrap(operation) if kind in RECORDED else operation for kind, operation in operations.items()}


def unknown_types(names: Iterable[str]) -> list[str]:
    return [name for name in names if name not in EVENT_TYPES]


@frozen
class EventFilter:
    """Which events a reader wants: one session's, of some types (None: any)."""

    session_id: str | None = None
    types: Sequence[str] | None = None

    def matches(self, event: FeedEvent) -> bool:
        if self.session_id is not None and event.session_id != self.session_id:
            return False
        return self.types is None or event.type in self.types


ANY = EventFilter()
