"""The change feed of `vault serve` on SQLite: exactly once, in order, across a hundred reconnects."""

from __future__ import annotations

import asyncio

import aiohttp

from tests.feed_reconnects import every_event_once_in_order


async def test_a_subscriber_reconnecting_a_hundred_times_gets_every_event_once_in_order(vault_process):
    service = vault_process()
    await service.start()
    await every_event_once_in_order([service.url])


async def test_sigterm_ends_open_streams_and_the_server_stops_at_once(vault_process):
    service = vault_process(VAULT_SHUTDOWN_TIMEOUT="30")
    await service.start()
    async with aiohttp.ClientSession() as http:
        streams = [
            await http.get(f"{service.url}/storage/events", headers={"Accept": "text/event-stream"}) for _ in range(20)
        ]
        for stream in streams:
            assert (await stream.content.readline()).startswith(b": connected")
        stopping = asyncio.get_running_loop().run_in_executor(None, service.terminate)
        # Each stream ends (its body comes to an end) well before the grace period would run out.
        for stream in streams:
            assert (await asyncio.wait_for(stream.content.read(), 10)).strip() == b""
        assert await asyncio.wait_for(stopping, 20) == 0
