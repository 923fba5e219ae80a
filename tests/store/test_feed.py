"""The change feed's fan-out, on every backend: catch-up then live, exactly once, and slow subscribers dropped."""

from __future__ import annotations

import asyncio

from vault.store.core.events import ANY, EventFilter, FeedEvent
from vault.store.core.feed import PAGE
from vault.store.core.feed_cursor import START
from vault.store.interface import Store

from tests.store.conftest import message, new_session
from vault.inputs import NewMessage


async def collect(store: Store, after: str, count: int, only: EventFilter = ANY) -> list[FeedEvent]:
    received: list[FeedEvent] = []
    async for page in store.feed.subscribe(after, only, keep_alive=0.05):
        received.extend(page)
        if len(received) >= count:
            break
    return received


async def test_a_subscriber_catches_up_over_many_pages_then_gets_live_events_once(backend_store):
    store = backend_store
    session = await new_session(store)
    await store.add_messages(session.id, [_message(i) for i in range(PAGE + 20)])
    subscriber = asyncio.create_task(collect(store, START, PAGE + 21 + 30))
    for i in range(30):
        await store.add_messages(session.id, [_message(f"live {i}")])

    received = await asyncio.wait_for(subscriber, 30)
    ids = [event.id for event in received]
    assert ids == sorted(ids) and len(set(ids)) == len(ids) == PAGE + 51
    assert ids == [event.id for event in await store.read_events(START, 10_000, ANY)]


async def test_a_subscriber_that_does_not_read_is_dropped_and_resumes_without_loss(backend_store):
    store = backend_store
    store.feed.buffer = 5
    session = await new_session(store)
    start = await store.resume_point("now")
    pages = store.feed.subscribe(start, ANY, keep_alive=0.05)
    # Join the live feed: the first page is empty (nothing new yet).
    assert await anext(pages) == []
    await store.add_messages(session.id, [_message(i) for i in range(20)])
    # Writes go on while it is full: nothing waits for it.
    await store.add_messages(session.id, [_message("after")])
    for _ in range(200):
        if store.feed.stats.dropped:
            break
        await asyncio.sleep(0.01)
    assert store.feed.stats.dropped == 1

    held = [event async for page in pages for event in page]
    assert len(held) == 5  # what it held when dropped; then its stream ended
    rest = await collect(store, held[-1].id, 16)
    # Every event after the start, each once, in order, across the drop.
    assert [e.id for e in held + rest] == [e.id for e in await store.read_events(start, 100, ANY)]


def _message(content: object) -> NewMessage:
    return message(str(content))
