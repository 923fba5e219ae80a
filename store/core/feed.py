"""The change feed's fan-out: one reader for every subscriber of this instance.

Subscribers never query the database for live events. One task reads the
events committed since its cursor, once, when a write wakes it (the SQLite
writer after each commit; on PostgreSQL a NOTIFY from any instance), and
offers each to every subscriber's bounded buffer. A subscriber whose buffer
is full is dropped: it sends what it holds and its stream ends, so it
resumes from its last event id; the reader never waits for it, and neither
does any writer.

A new subscriber (or one resuming) first catches up from the database on
its own, page by page, until its cursor has reached the reader's; it then
joins the reader without an await in between, so no event falls between
the two. Events at or before a subscriber's cursor are never offered to it:
each event reaches it exactly once, in order.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

from attrs import define, field
from vault.store.core.events import ANY, EventFilter, FeedEvent
from vault.store.core.feed_cursor import START

log = logging.getLogger(__name__)

PAGE = 500
# Events a subscriber may hold unsent before it is dropped.
BUFFER = 2000

ReadEvents = Callable[[str, int, EventFilter], Awaitable[list[FeedEvent]]]
Newest = Callable[[], Awaitable[str | None]]


@define
class FeedStats:
    """Counters for /metrics."""

    events_sent: int = 0
    dropped: int = 0
    read_errors: int = 0


class Subscriber:
    def __init__(self, after: str, only: EventFilter, capacity: int) -> None:
        self.cursor = after
        self.only = only
        self._capacity = capacity
        self._held: collections.deque[FeedEvent] = collections.deque()
        self._ready = asyncio.Event()
        # Dropped (too slow) or closed (shutdown): send what is held, then end.
        self.ended = False

    def offer(self, event: FeedEvent) -> bool:
        """Hold `event` if it is new to this subscriber and matches; False once the buffer is full."""
        if event.id <= self.cursor or not self.only.matches(event):
            return True
        if len(self._held) >= self._capacity:
            return False
        self._held.append(event)
        self.cursor = event.id
        self._ready.set()
        return True

    def end(self) -> None:
        self.ended = True
        self._ready.set()

    async def take(self, timeout: float) -> list[FeedEvent] | None:
        """What is held (possibly nothing, after `timeout` seconds); None once ended and empty."""
        if not self._held and not self.ended:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._ready.wait(), timeout)
        self._ready.clear()
        if not self._held:
            return None if self.ended else []
        taken = list(self._held)
        self._held.clear()
        return taken


@define
class Feed:
    read: ReadEvents
    # The newest event kept: where the reader starts, and where it picks up after being idle.
    newest: Newest
    # On PostgreSQL a safety poll, for a listener connection lost without notice; None: only wakes.
    poll_seconds: float | None = None
    buffer: int = BUFFER
    stats: FeedStats = field(factory=FeedStats)
    # The newest event offered to subscribers.
    cursor: str = START
    # The reader must read at least this far (a notified transaction's position).
    _must_reach: str = START
    _subscribers: set[Subscriber] = field(factory=set)
    _wake: asyncio.Event = field(factory=asyncio.Event)
    # Set, then replaced, each time the reader has read new events: long-polling readers wait on it.
    _arrived: asyncio.Event = field(factory=asyncio.Event)
    _task: asyncio.Task | None = None
    _closed: bool = False
    # Long-polling readers waiting for an arrival now.
    _waiters: int = 0
    # No one was listening at the last wake: the reader did not read, and its cursor is behind.
    _idle: bool = False

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    async def start(self) -> None:
        """Start reading after the newest event kept: earlier ones are read by catch-up."""
        self.cursor = await self.newest() or START
        self._task = asyncio.get_running_loop().create_task(self._run(), name="vault-feed")

    def end(self) -> None:
        """End every stream (each sends what it holds) and stop reading; at once, without waiting."""
        self._closed = True
        for subscriber in list(self._subscribers):
            subscriber.end()
        self._subscribers.clear()
        self._arrived.set()
        if self._task is not None:
            self._task.cancel()

    async def close(self) -> None:
        """`end`, then wait until the reader has stopped."""
        self.end()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def wake(self, must_reach: str = START) -> None:
        if must_reach > self._must_reach:
            self._must_reach = must_reach
        if self._idle and not self._subscribers and not self._waiters:
            # No one to tell, and the reader knows it: it stays asleep (a turn of the loop per
            # commit otherwise) until a subscriber or a long-polling reader arrives and wakes it.
            return
        self._wake.set()

    @property
    def arrival(self) -> asyncio.Event:
        """Set once events newer than now have been read (take it before reading, then wait on it)."""
        return self._arrived

    @contextlib.contextmanager
    def waiting(self) -> Iterator[None]:
        """While a long-polling reader waits: the reader must look at every wake."""
        self._waiters += 1
        if self._idle:
            self.wake()
        try:
            yield
        finally:
            self._waiters -= 1

    async def _run(self) -> None:
        retry = 0.0
        while True:
            if retry:
                await asyncio.sleep(retry)
            else:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.poll_seconds)
            self._wake.clear()
            if not self._subscribers and not self._waiters:
                # No one to tell: a read per commit would cost the loop for nothing.
                self._idle, retry = True, 0.0
                continue
            try:
                if self._idle:
                    await self._resume()
                await self._read_new()
            except Exception as exc:  # the database is down or busy: try again, never stop reading
                self.stats.read_errors += 1
                log.warning("change feed could not read events: %s", exc)
                retry = 1.0
                continue
            # A notified transaction not readable yet: an older one still runs. Look again soon.
            retry = min(max(retry * 2, 0.002), 0.5) if self.cursor < self._must_reach else 0.0

    async def _resume(self) -> None:
        """Move the cursor, left behind while idle, to where someone is listening from.

        No subscriber joined before the newest event: the cursor may go there (a
        long-polling reader reads the database itself and hears of the move). A
        subscriber that joined meanwhile holds a cursor at or past the old one:
        reading goes on from the earliest of those, and each skips what it has."""
        joined = [subscriber.cursor for subscriber in self._subscribers]
        self.cursor = max(self.cursor, min(joined) if joined else await self.newest() or START)
        self._idle = False
        self._announce()

    def _announce(self) -> None:
        self._arrived.set()
        self._arrived = asyncio.Event()

    async def _read_new(self) -> None:
        read_any = False
        while True:
            page = await self.read(self.cursor, PAGE, ANY)
            for event in page:
                self._fan_out(event)
                self.cursor = event.id
            read_any = read_any or bool(page)
            if len(page) < PAGE:
                break
        if read_any:
            self._announce()

    def _fan_out(self, event: FeedEvent) -> None:
        for subscriber in list(self._subscribers):
            if not subscriber.offer(event):
                self._subscribers.discard(subscriber)
                subscriber.end()
                self.stats.dropped += 1

    async def subscribe(self, after: str, only: EventFilter, keep_alive: float) -> AsyncIterator[list[FeedEvent]]:
        """Pages of events after `after`, for as long as the caller reads; an empty page every
        `keep_alive` seconds without events. Ends when the subscriber is dropped or the feed closes."""
        cursor = after
        while cursor < self.cursor and not self._closed:
            reached = self.cursor
            page = await self.read(cursor, PAGE, only)
            if page:
                cursor = page[-1].id
                self.stats.events_sent += len(page)
                yield page
            if len(page) < PAGE:
                # Everything up to `reached` was visible to that read: nothing matching is left before it.
                cursor = max(cursor, reached)
        if self._closed:
            return
        subscriber = Subscriber(cursor, only, self.buffer)
        self._subscribers.add(subscriber)
        if self._idle:
            self.wake()
        try:
            while True:
                taken = await subscriber.take(keep_alive)
                if taken is None:
                    return
                self.stats.events_sent += len(taken)
                yield taken
        finally:
            self._subscribers.discard(subscriber)
