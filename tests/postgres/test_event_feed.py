"""The change feed across two instances on one PostgreSQL database."""

from __future__ import annotations

import asyncio

from tests.conftest import add_message, create_session
from tests.feed_reconnects import every_event_once_in_order


async def test_a_subscriber_of_one_instance_gets_the_writes_of_the_other(two_clients):
    first, second = two_clients
    session = await create_session(second)
    async with first.get(
        "/storage/events", params={"session_id": session["id"]}, headers={"Accept": "text/event-stream"}
    ) as stream:
        await add_message(second, session["id"], "from the other instance")
        data = []
        while len(data) < 2:
            line = (await asyncio.wait_for(stream.content.readline(), 10)).decode()
            if line.startswith("data: "):
                data.append(line)
    assert "from the other instance" in data[1]


async def test_reconnecting_a_hundred_times_across_two_instances_gets_every_event_once_in_order(two_clients):
    await every_event_once_in_order([str(client.make_url("")).rstrip("/") for client in two_clients])
