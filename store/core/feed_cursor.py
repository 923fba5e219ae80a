"""Where the change feed stands: the bounds of the events kept, and checks of a client's cursor."""

from __future__ import annotations

from typing import Any

from attrs import frozen
from vault.store.core import rows
from vault.store.core.events import FeedEvent
from vault.store.core.packing import Codec

# A cursor before every event: the feed's own start.
START = ""
# An event id is its row's id, zero-padded: as text it sorts as the number does.
ID_DIGITS = 20
# An event row's columns, then its message's (rows.MESSAGE_BODY_COLUMNS), from `EVENTS_WITH_MESSAGES`.
EVENT_COLUMNS = (
    "e.id, e.type, e.session_id, e.at, e.data, m.id, m.session_id, m.seq, m.body, m.body_packed, m.body_size"
)
# A message's event finds its message by (session_id, seq): the messages table's key.
EVENTS_WITH_MESSAGES = (
    "events e LEFT JOIN messages m ON e.message_seq IS NOT NULL"
    " AND m.session_id = e.session_id AND m.seq = e.message_seq"
)


def event_id(number: int) -> str:
    return f"{number:0{ID_DIGITS}d}"


# Ids are 64-bit in both databases; a cursor past the largest is past every event there will be.
LARGEST_ID = 2**63 - 1


def number_of(cursor: str) -> int:
    return min(int(cursor), LARGEST_ID) if cursor else 0


def valid_event_id(text: str) -> bool:
    return len(text) == ID_DIGITS and text.isascii() and text.isdigit()


@frozen
class EventBounds:
    # The first and last events kept (None: none kept).
    oldest: str | None
    newest: str | None
    # The newest event retention has deleted (None: none yet); a cursor before it resumes past a gap.
    pruned_through: str | None

    def lost_after(self, cursor: str) -> bool:
        """Whether events after `cursor` were deleted before it could read them."""
        return self.pruned_through is not None and cursor < self.pruned_through


def feed_event(row: Any, codec: Codec) -> FeedEvent:
    """An event from a row of EVENT_COLUMNS; a message's data is its message as history serves it."""
    data = row[4]
    if data is None and row[5] is not None:
        data = rows.message_body(row[5:], codec)
    return FeedEvent(event_id(row[0]), row[1], row[2], row[3], data)
