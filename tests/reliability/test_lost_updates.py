"""Concurrent writers of one session's state never lose each other's updates.

Each test runs a worst case on purpose: every client reads before any of
them writes (an asyncio.Barrier), so a writer that does not guard its
read-modify-write is sure to overwrite the others. The controls run the
same workload without the guard and show the loss the guard prevents.
"""

from __future__ import annotations

import asyncio
from typing import Any

from tests.conftest import create_session

CLIENTS = 20


def state_url(session_id: str) -> str:
    return f"/storage/state/{session_id}"


async def read_state(client, session_id: str) -> dict[str, Any]:
    response = await client.get(state_url(session_id))
    assert response.status == 200, await response.text()
    return await response.json()


async def increment(client, session_id: str, barrier: asyncio.Barrier, *, if_match: bool) -> int:
    """Read the counter, add one, write it back; with If-Match, retry on 412. Returns the attempts made."""
    state = await read_state(client, session_id)
    await barrier.wait()
    attempts = 0
    while True:
        attempts += 1
        headers = {"If-Match": f'"{state["version"]}"'} if if_match else {}
        count = state["data"].get("count", 0)
        response = await client.put(state_url(session_id), json={"data": {"count": count + 1}}, headers=headers)
        if response.status == 200:
            return attempts
        assert response.status == 412, await response.text()
        # A 412 carries the current state: start again from it.
        state = (await response.json())["current"]
        assert attempts < 10 * CLIENTS, "no write went through"


async def run_increments(client, *, if_match: bool) -> tuple[dict[str, Any], list[int]]:
    session_id = (await create_session(client))["id"]
    barrier = asyncio.Barrier(CLIENTS)
    attempts = await asyncio.gather(
        *(increment(client, session_id, barrier, if_match=if_match) for _ in range(CLIENTS))
    )
    return await read_state(client, session_id), attempts


# Regression: CONTRACT 4, If-Match makes read-modify-write safe under concurrency.
async def test_if_match_read_modify_write_counts_every_increment(client):
    state, attempts = await run_increments(client, if_match=True)
    assert state["data"] == {"count": CLIENTS}
    assert state["version"] == CLIENTS
    # All read version 0 before anyone wrote: one got through at once, the others were refused and retried.
    assert attempts.count(1) == 1


async def test_control_without_if_match_increments_are_lost(client):
    state, attempts = await run_increments(client, if_match=False)
    # Every write was accepted at once, and each stored the count it read plus one.
    assert attempts == [1] * CLIENTS
    assert state["version"] == CLIENTS
    assert state["data"]["count"] < CLIENTS


async def set_own_key_by_patch(client, session_id: str, n: int, barrier: asyncio.Barrier) -> None:
    await read_state(client, session_id)
    await barrier.wait()
    response = await client.patch(state_url(session_id), json={"data": {"clients": {f"client{n}": n}}})
    assert response.status == 200, await response.text()


async def set_own_key_by_get_and_put(client, session_id: str, n: int, barrier: asyncio.Barrier) -> None:
    state = await read_state(client, session_id)
    await barrier.wait()
    clients = {**state["data"].get("clients", {}), f"client{n}": n}
    response = await client.put(state_url(session_id), json={"data": {**state["data"], "clients": clients}})
    assert response.status == 200, await response.text()


async def run_key_writers(client, writer) -> dict[str, Any]:
    session_id = (await create_session(client))["id"]
    response = await client.put(state_url(session_id), json={"data": {"owner": "test", "clients": {}}})
    assert response.status == 200, await response.text()
    barrier = asyncio.Barrier(CLIENTS)
    await asyncio.gather(*(writer(client, session_id, n, barrier) for n in range(CLIENTS)))
    return await read_state(client, session_id)


# Regression: CONTRACT 4, PATCH merges on the server, so concurrent partial updates never lose each other.
async def test_concurrent_patches_of_own_keys_keep_every_key(client):
    state = await run_key_writers(client, set_own_key_by_patch)
    assert state["data"] == {"owner": "test", "clients": {f"client{n}": n for n in range(CLIENTS)}}
    assert state["version"] == 1 + CLIENTS


async def test_control_merging_on_the_client_loses_keys(client):
    state = await run_key_writers(client, set_own_key_by_get_and_put)
    assert state["version"] == 1 + CLIENTS
    assert state["data"]["owner"] == "test"
    assert len(state["data"]["clients"]) < CLIENTS
