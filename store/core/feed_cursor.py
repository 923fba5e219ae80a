"""Where the change feed stands: the bounds of the events kept, and checks of a client's cursor."""

from __future__ import annotations

from attrs import frozen

# A cursor before every event: the feed's own start.
START = ""
# An event id is its row's id, zero-padded: as text it sorts as the number does.
ID_DIGITS = 20
# An event row's columns, as each backend's events table has them.
EVENT_COLUMNS = "id, type, session_id, at, data"


def event_id(number: int) -> str:
    return f"{number:0{ID_DIGITS}d}"


def number_of(cursor: str) -> int:
    return int(cursor) if cursor else 0


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
