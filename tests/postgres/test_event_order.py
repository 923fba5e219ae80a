"""The change feed on PostgreSQL when transactions commit out of the order of their event ids.

A sequence hands out ids when rows are inserted, not when they commit: the
transaction holding the earlier id may commit last. A reader that moves its
cursor past the later id as soon as it sees it never delivers the earlier
one. These tests hold one transaction open with raw connections on the
store's own database, commit a later one, read in between, and check that
nothing is skipped and nothing comes twice.
"""

from __future__ import annotations

import asyncio

import asyncpg
from vault.store.core.events import ANY
from vault.store.core.feed_cursor import START

from tests.postgres.conftest import new_store
from vault import clock

INSERT = "INSERT INTO events (type, session_id, at, data) VALUES ('session.created', $1, $2, NULL) RETURNING id"
# A write's record comes before its event, so its transaction has its xid before it takes an event
# id (vault.store.postgres.events relies on it); these raw transactions write that first too.
TAKE_XID = "SELECT pg_current_xact_id()"


async def test_an_event_committed_after_a_later_one_is_still_read_once_in_order(database_url, tmp_path):
    store = new_store(database_url, tmp_path)
    await store.start()
    earlier, later = await asyncpg.connect(database_url), await asyncpg.connect(database_url)
    try:
        first_tx = earlier.transaction()
        await first_tx.start()
        await earlier.fetchval(TAKE_XID)
        earlier_id = await earlier.fetchval(INSERT, "earlier", clock.now_text())
        async with later.transaction():
            await later.fetchval(TAKE_XID)
            later_id = await later.fetchval(INSERT, "later", clock.now_text())
        assert earlier_id < later_id

        # Read while the earlier id is still uncommitted and the later one is committed.
        between = await store.read_events(START, 100, ANY)
        cursor = between[-1].id if between else START
        await first_tx.commit()
        after = await store.read_events(cursor, 100, ANY)

        # Nothing between (the earlier id was not final yet), then both, in id order.
        assert [event.session_id for event in between] == []
        assert [event.session_id for event in after] == ["earlier", "later"]
    finally:
        await earlier.close()
        await later.close()
        await store.close()


async def test_a_live_subscriber_gets_both_events_once_when_the_later_id_commits_first(database_url, tmp_path):
    store = new_store(database_url, tmp_path)
    await store.start()
    received: list[str] = []

    async def subscribe() -> None:
        async for page in store.feed.subscribe(START, ANY, keep_alive=0.05):
            received.extend(event.session_id for event in page)
            if len(received) >= 3:
                return

    subscriber = asyncio.create_task(subscribe())
    earlier, later = await asyncpg.connect(database_url), await asyncpg.connect(database_url)
    try:
        first_tx = earlier.transaction()
        await first_tx.start()
        await earlier.fetchval(TAKE_XID)
        await earlier.fetchval(INSERT, "earlier", clock.now_text())
        async with later.transaction():
            await later.fetchval(TAKE_XID)
            await later.fetchval(INSERT, "later", clock.now_text())
        # The later commit's NOTIFY has woken the feed, which read while the earlier one was open.
        for _ in range(50):
            await asyncio.sleep(0.01)
        await first_tx.commit()
        async with later.transaction():
            await later.fetchval(INSERT, "last", clock.now_text())
        await asyncio.wait_for(subscriber, 10)
        assert received == ["earlier", "later", "last"]
    finally:
        subscriber.cancel()
        await earlier.close()
        await later.close()
        await store.close()
