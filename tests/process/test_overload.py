"""Sustained overload and slow clients against the real process."""

from __future__ import annotations

import asyncio
import statistics
import time

import aiohttp
import pytest

pytestmark = pytest.mark.slow

QUEUE_MAX = 32
CLIENTS = 256
OVERLOAD_SECONDS = 30.0
RSS_GROWTH_LIMIT = 100 * 2**20


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


async def new_session(http: aiohttp.ClientSession, url: str) -> str:
    async with http.post(f"{url}/storage/sessions", json={"agent_name": "overload"}) as response:
        return (await response.json())["id"]


async def hammer(http, url: str, session_id: str, until: float, seen: dict, latencies: list[float]) -> None:
    """Post as fast as answers come back, ignoring Retry-After: a hostile arrival rate."""
    body = {"session_id": session_id, "role": "user", "content": "x" * 300}
    while time.monotonic() < until:
        started = time.monotonic()
        async with http.post(f"{url}/storage/history", json=body) as response:
            await response.read()
            seen[response.status] = seen.get(response.status, 0) + 1
            if response.status == 201:
                latencies.append(time.monotonic() - started)
            elif response.status == 503:
                assert response.headers.get("Retry-After")


# Holds the overload for half a minute or so, above the suite's default limit.
@pytest.mark.timeout(300)
async def test_sustained_overload_sheds_load_and_recovers(vault_process):
    vault = vault_process(VAULT_QUEUE_MAX=str(QUEUE_MAX), VAULT_WRITE_BATCH_MAX="8", LOG_LEVEL="warning")
    await vault.start()
    pid = vault.process.pid
    connector = aiohttp.TCPConnector(limit=CLIENTS)
    async with aiohttp.ClientSession(connector=connector) as http:
        session_id = await new_session(http, vault.url)
        baseline = rss_bytes(pid)
        seen: dict[int, int] = {}
        latencies: list[float] = []
        rss_samples: list[int] = []
        until = time.monotonic() + OVERLOAD_SECONDS
        clients = [
            asyncio.ensure_future(hammer(http, vault.url, session_id, until, seen, latencies)) for _ in range(CLIENTS)
        ]
        while not all(client.done() for client in clients):
            rss_samples.append(rss_bytes(pid))
            await asyncio.sleep(0.5)  # a sampling period, not a wait for a condition
        await asyncio.gather(*clients)
        # Load has dropped: the very next write is accepted.
        async with http.post(
            f"{vault.url}/storage/history", json={"session_id": session_id, "role": "user", "content": "after"}
        ) as response:
            assert response.status == 201
    accepted = sorted(latencies)
    print(
        f"\noverload: {seen}; accepted p50 {statistics.median(accepted) * 1000:.0f} ms,"
        f" p99 {accepted[int(len(accepted) * 0.99)] * 1000:.0f} ms;"
        f" RSS {baseline / 2**20:.0f} -> max {max(rss_samples) / 2**20:.0f} MiB"
    )
    assert set(seen) <= {201, 503}, seen
    assert seen.get(503, 0) > 0, "the load never exceeded capacity"
    assert seen.get(201, 0) > 0
    assert max(rss_samples) - baseline < RSS_GROWTH_LIMIT


async def test_slow_bodies_do_not_hold_the_writer(vault_process):
    vault = vault_process(LOG_LEVEL="warning")
    await vault.start()
    host, port = "127.0.0.1", vault.port
    slow_writers = []
    for _ in range(50):
        _, writer = await asyncio.open_connection(host, port)
        writer.write(
            b"POST /storage/sessions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b'Content-Length: 1000\r\n\r\n{"agent_name": "'
        )
        await writer.drain()
        slow_writers.append(writer)
    try:
        async with aiohttp.ClientSession() as http:
            session_id = await new_session(http, vault.url)
            for index in range(20):
                async with http.post(
                    f"{vault.url}/storage/history",
                    json={"session_id": session_id, "role": "user", "content": f"m{index}"},
                ) as response:
                    assert response.status == 201
            async with http.get(f"{vault.url}/storage/sessions/{session_id}") as response:
                assert (await response.json())["message_count"] == 20
    finally:
        for writer in slow_writers:
            writer.close()
