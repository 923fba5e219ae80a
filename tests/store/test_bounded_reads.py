"""Reads run on the loop's own thread still let every other task run."""

from __future__ import annotations

import asyncio

from vault.inputs import NewMessage, NewSession
from vault.queries import HistoryQuery


async def test_a_tight_read_loop_does_not_starve_writes(store):
    # Rule: a read bounded enough to run on the loop's thread still yields to the loop.
    session = await store.create_session(NewSession(agent_name="reader"))
    stop = asyncio.Event()

    async def read_until_stopped() -> int:
        reads = 0
        while not stop.is_set():
            await store.list_message_bodies(HistoryQuery(session_id=session.id, limit=50))
            await store.get_session(session.id)
            reads += 1
        return reads

    reader = asyncio.ensure_future(read_until_stopped())
    async with asyncio.timeout(30):
        await store.add_messages(session.id, [NewMessage(session_id=session.id, role="user", content="written")])
    stop.set()
    assert await reader > 0
