"""The change feed through the Python clients, against the real service (and a proxy that cuts streams)."""

from __future__ import annotations

import asyncio
import itertools
import sqlite3

import pytest

from tests.client.conftest import FAST_RETRIES
from vault.client import AsyncVaultClient, Gone, VaultClient
from vault.models import Event


async def take(events, count: int) -> list[Event]:
    taken = []
    async for event in events:
        taken.append(event)
        if len(taken) == count:
            break
    return taken


async def test_events_follow_a_session_live_with_the_records_as_reads_answer(direct, unique):
    session = await direct.create_session(unique)
    reading = asyncio.create_task(take(direct.events(session_id=session.id), 3))
    message = await direct.add_message(session.id, "user", "hello")
    await direct.put_state(session.id, {"step": 1})

    events = await asyncio.wait_for(reading, 20)
    assert [e.type for e in events] == ["session.created", "message.created", "state.updated"]
    assert events[1].data["id"] == message.id and events[1].data["content"] == "hello"
    assert all(isinstance(e, Event) and e.session_id == session.id for e in events)


async def test_events_resume_by_themselves_after_the_stream_is_cut(proxy, direct, unique):
    session = await direct.create_session(unique)
    proxy.cut_streams(6)
    async with AsyncVaultClient(proxy.url, **FAST_RETRIES) as through_proxy:
        reading = asyncio.create_task(take(through_proxy.events(session_id=session.id, types=["message.created"]), 30))
        for n in range(30):
            await direct.add_message(session.id, "user", f"m{n}")
            await asyncio.sleep(0.01)
        events = await asyncio.wait_for(reading, 60)

    assert [e.data["content"] for e in events] == [f"m{n}" for n in range(30)]
    # It was cut and came back, each time from the last event it had (none yet: from the start).
    requests = [seen for seen in proxy.seen if seen.path.startswith("/storage/events")]
    assert len(requests) >= 2
    resumed_from = [seen.headers["last-event-id"] for seen in requests if "last-event-id" in seen.headers]
    assert resumed_from == sorted(resumed_from) and set(resumed_from) <= {e.id for e in events}


async def test_a_cursor_past_retention_raises_gone_with_the_oldest_kept(service, direct, unique):
    await direct.create_session(unique)
    # Retention runs every few minutes on hours-old events: its mark is set in the file instead,
    # as if it had just pruned the first five events.
    with sqlite3.connect(service.db_path) as conn:
        conn.execute(
            "INSERT INTO event_horizon (id, pruned_through) VALUES (1, ?)"
            " ON CONFLICT (id) DO UPDATE SET pruned_through = max(pruned_through, excluded.pruned_through)",
            (f"{5:020d}",),
        )
    with pytest.raises(Gone) as gone:
        await take(direct.events(after=f"{1:020d}"), 1)
    assert gone.value.status == 410 and gone.value.oldest_id is not None


async def test_the_blocking_client_iterates_the_feed_too(service, direct, unique):
    session = await direct.create_session(unique)
    await direct.add_message(session.id, "user", "sync")

    def read() -> list[Event]:
        with VaultClient(service.url) as client:
            return list(itertools.islice(client.events(session_id=session.id), 2))

    events = await asyncio.to_thread(read)
    assert [e.type for e in events] == ["session.created", "message.created"]
