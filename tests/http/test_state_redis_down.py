"""A Redis that holds session state and stops: state routes and /ready answer 503, the rest works, it recovers."""

from __future__ import annotations

import pytest

from tests.conftest import create_session
from vault.config import Config


@pytest.fixture
def config(db_path, redis_server) -> Config:
    return Config(db_path=db_path, state_url=redis_server.url)


async def assert_redis_is_down(client, session_id: str) -> None:
    url = f"/storage/state/{session_id}"
    for answer in (
        await client.get(url),
        await client.put(url, json={"data": {"a": 1}}),
        await client.patch(url, json={"data": {"a": 1}}),
        await client.delete(url),
    ):
        assert answer.status == 503 and answer.headers["Retry-After"], await answer.text()
        assert (await answer.json())["error"] == "unavailable"

    ready = await client.get("/ready")
    assert ready.status == 503 and ready.headers["Retry-After"]
    assert "redis" in (await ready.json())["detail"]

    # Everything that does not need state works, the cache in the database included.
    health = await client.get("/health")
    assert health.status == 200
    assert (await health.json())["backends"]["state"] == "redis"
    assert (await client.put("/storage/cache/k", json={"value": 1})).status == 200
    history = await client.post("/storage/history", json={"session_id": session_id, "role": "user", "content": "hi"})
    assert history.status == 201, await history.text()


async def assert_redis_is_back(client, session_id: str, version: int) -> None:
    assert (await client.get("/ready")).status == 200
    patch = await client.patch(f"/storage/state/{session_id}", json={"data": {"n": version}})
    assert patch.status == 200, await patch.text()
    assert (await patch.json())["version"] == version


# Regression: a Redis that is down at start, or stops later, never stops the service nor answers 500.
async def test_redis_down_at_start_then_stopped_mid_run_and_back(client, redis_server):
    session_id = (await create_session(client))["id"]
    await assert_redis_is_down(client, session_id)

    await redis_server.start()
    await assert_redis_is_back(client, session_id, 1)

    await redis_server.stop()
    await assert_redis_is_down(client, session_id)

    # The private Redis keeps nothing across a restart, so state starts again at version 0.
    await redis_server.start()
    await assert_redis_is_back(client, session_id, 1)


# Rule: a session deleted while its state's Redis is down is deleted (200); its state can never be read.
async def test_a_session_deletes_while_the_state_redis_is_down(client, redis_server):
    session_id = (await create_session(client))["id"]

    response = await client.delete(f"/storage/sessions/{session_id}")

    assert response.status == 200, await response.text()
    await redis_server.start()
    assert (await client.get(f"/storage/state/{session_id}")).status == 404
