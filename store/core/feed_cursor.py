"""Where the change feed stands: the bounds of the events kept, and checks of a client's cursor."""

from __future__ import annotations

from attrs import frozen

# A cursor before every event: the feed's own start.
START = ""


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
