"""The change feed of `vault serve` on SQLite: exactly once, in order, across a hundred reconnects."""

from __future__ import annotations

from tests.feed_reconnects import every_event_once_in_order


async def test_a_subscriber_reconnecting_a_hundred_times_gets_every_event_once_in_order(vault_process):
    service = vault_process()
    await service.start()
    await every_event_once_in_order([service.url])
