"""The newest window of recently read sessions, kept whole, so reading it again needs no scan.

A session's newest messages change only when its messages do, and every such
change moves two columns of its row: an append raises `last_seq`, a history
clear sets `message_count` to 0, a session's delete removes the row (messages
are never changed or deleted one by one). `last_seq` never goes down, so a
session's (last_seq, message_count) never comes back to a value it had before
a change. A window kept under that mark is therefore exactly what a scan would
find for as long as the row still shows the same mark; the mark is read from
the database each time (one row by its key), so writes by another process
sharing the file are seen as well as this one's.
"""

from __future__ import annotations

import sqlite3

from attrs import field, frozen
from vault.store.core.body_cache import ENTRY_OVERHEAD, BoundedCache
from vault.store.core.pages import PageFill
from vault.store.errors import NotFound

from vault.models import Page, RenderedMessage

Mark = tuple[int, int]


@frozen
class KeptWindow:
    mark: Mark
    # (message, stored size), newest first: the order a scan takes them in.
    newest_first: tuple[tuple[RenderedMessage, int], ...]
    # Whether older messages exist beyond these.
    more: bool
    size: int
    # The page last answered from it, by its limit: built once while the same window is read
    # again unchanged. One limit's page at a time (its memory is in _cost); its items are a
    # tuple, never changed, which every later read copies.
    answered: dict[int, Page] = field(factory=dict, eq=False)


def _cost(window: KeptWindow) -> int:
    # Each message: its text, its entry's overhead, and its place in the answered page's list.
    return window.size + ENTRY_OVERHEAD * (1 + len(window.newest_first)) + 8 * len(window.newest_first)


def session_mark(conn: sqlite3.Connection, session_id: str) -> Mark:
    row = conn.execute("SELECT last_seq, message_count FROM sessions WHERE id = ?", (session_id,)).fetchone()
    if row is None:
        raise NotFound("session", session_id)
    return row[0], row[1]


class WindowCache:
    def __init__(self, max_bytes: int) -> None:
        self._kept: BoundedCache[str, KeptWindow] = BoundedCache(max_bytes, _cost)

    def page(self, session_id: str, mark: Mark, limit: int) -> Page | None:
        """The newest `limit` messages, oldest first, if a window kept under `mark` holds them."""
        kept = self._kept.get(session_id)
        if kept is None or kept.mark != mark or (limit > len(kept.newest_first) and kept.more):
            return None
        page = kept.answered.get(limit)
        if page is None:
            page = _page(kept, limit)
            kept.answered.clear()
            kept.answered[limit] = page
        # Each read gets a page of its own (a list, as every backend's pages hold): what a
        # caller does with it never reaches the kept one.
        return Page(list(page.items), has_more=page.has_more, size=page.size)

    def keep(
        self, session_id: str, mark: Mark, oldest_first: list[RenderedMessage], sizes: list[int], more: bool
    ) -> None:
        """A scanned window, as a scan of the session under `mark` found it."""
        newest_first = tuple(zip(reversed(oldest_first), reversed(sizes), strict=True))
        self._kept.put(session_id, KeptWindow(mark, newest_first, more, sum(sizes)))


def _page(kept: KeptWindow, limit: int) -> Page:
    # The same rule a scan's page follows: `limit` items, or fewer once they reach the byte budget.
    fill = PageFill(limit)
    for item, size in kept.newest_first:
        if not fill.takes(size):
            break
        fill.items.append(item)
    page = fill.page()
    taken_all = len(page.items) == len(kept.newest_first)
    return Page(tuple(reversed(page.items)), has_more=page.has_more or (taken_all and kept.more), size=page.size)
