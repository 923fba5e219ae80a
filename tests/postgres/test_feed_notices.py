"""How instances on one PostgreSQL database tell each other of their writes (vault.store.postgres.listener).

The writing instance sends a NOTIFY after its COMMIT, in a transaction of its
own; no writing transaction notifies (PostgreSQL would serialize their commits,
WAL flush included, under one lock).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import asyncpg
from vault.store.core.events import ANY
from vault.store.core.feed_cursor import event_id
from vault.store.postgres import listener
from vault.store.postgres.events import CHANNEL
from vault.store.postgres.store import PostgresStore

from tests.postgres.conftest import new_store
from tests.store.conftest import add_texts, new_session


@contextlib.asynccontextmanager
async def store_and_ear(database_url, tmp_path) -> AsyncIterator[tuple[PostgresStore, list[str]]]:
    """A started store, and the payloads of every notification on the feed's channel from now on."""
    store = new_store(database_url, tmp_path)
    await store.start()
    heard: list[str] = []
    ear = await asyncpg.connect(database_url)
    await ear.add_listener(CHANNEL, lambda *args: heard.append(args[3]))
    try:
        yield store, heard
    finally:
        await ear.close()
        await store.close()


async def newest_heard(store: PostgresStore, heard: list[str]) -> str:
    """The newest event kept, once a notification has named it (within 10 s)."""
    newest = (await store.read_events("", 1000, ANY))[-1].id
    for _ in range(200):
        if heard and event_id(int(heard[-1])) == newest:
            break
        await asyncio.sleep(0.05)
    assert heard and event_id(int(heard[-1])) == newest
    return newest


async def _started_pair(database_url, tmp_path) -> list[PostgresStore]:
    stores = [new_store(database_url, tmp_path), new_store(database_url, tmp_path)]
    await asyncio.gather(*(store.start() for store in stores))
    return stores


# Rule: a subscriber of one instance gets another instance's write by its notification: with
# the feeds' safety poll set to a minute, the event still arrives.
async def test_a_write_reaches_the_other_instance_without_its_safety_poll(database_url, tmp_path, monkeypatch):
    monkeypatch.setattr(PostgresStore, "feed_poll_seconds", 60.0)
    writer, reader = await _started_pair(database_url, tmp_path)
    try:
        session = await new_session(writer)
        start = await reader.resume_point("now")
        pages = reader.feed.subscribe(start, ANY, keep_alive=0.05)
        assert await anext(pages) == []
        await add_texts(writer, session.id, "heard across instances")

        async def first_message_event() -> str:
            async for page in pages:
                for event in page:
                    if event.type == "message.created":
                        return event.id
            raise AssertionError("the feed ended")

        received = await asyncio.wait_for(first_message_event(), 10)
        kept = [event.id for event in await writer.read_events(start, 10, ANY) if event.type == "message.created"]
        assert received == kept[0]
        await pages.aclose()
    finally:
        for store in (writer, reader):
            await store.close()


# Rule: each notification names an event id the write took, no later than its newest: a feed
# that reads up to it has read the write. Many quick writes share notifications.
async def test_notifications_name_the_newest_event_of_the_writes_they_tell_of(database_url, tmp_path):
    async with store_and_ear(database_url, tmp_path) as (store, heard):
        session = await new_session(store)
        for index in range(50):
            await add_texts(store, session.id, f"note {index}")
        await newest_heard(store, heard)
        marks = [int(payload) for payload in heard]
        assert marks == sorted(marks)


# Rule: no trigger notifies inside a writing transaction (migration 11 dropped it).
async def test_no_writing_transaction_notifies(database_url, tmp_path):
    store = new_store(database_url, tmp_path)
    await store.start()
    try:
        conn = await asyncpg.connect(database_url)
        try:
            triggers = await conn.fetch(
                "SELECT tgname FROM pg_trigger WHERE tgrelid = 'events'::regclass AND NOT tgisinternal"
            )
        finally:
            await conn.close()
        assert triggers == []
    finally:
        await store.close()


# Rule: notifications are spaced: a burst of announcements from one instance is told by few
# NOTIFYs, the last of them naming the newest id.
async def test_a_burst_of_commits_is_told_by_few_notifications(database_url, tmp_path, monkeypatch):
    monkeypatch.setattr(listener, "NOTICE_GAP_SECONDS", 0.2)
    async with store_and_ear(database_url, tmp_path) as (store, heard):
        session = await new_session(store)
        await asyncio.sleep(0.5)
        heard.clear()
        await asyncio.gather(*(add_texts(store, session.id, f"burst {index}") for index in range(40)))
        await newest_heard(store, heard)
        assert len(heard) < 10
