"""A Redis that holds the cache and stops: the cache routes and /ready answer 503, the rest works, and it recovers."""

from __future__ import annotations

import pytest

from tests.conftest import create_session
from vault.config import Config


@pytest.fixture
def config(db_path, redis_server) -> Config:
    return Config(db_path=db_path, cache_url=redis_server.url)


async def assert_redis_is_down(client) -> None:
    put = await client.put("/storage/cache/k", json={"value": 1})
    assert put.status == 503 and put.headers["Retry-After"], await put.text()
    assert (await put.json())["error"] == "unavailable"
    for answer in (await client.get("/storage/cache/k"), await client.delete("/storage/cache/k")):
        assert answer.status == 503 and answer.headers["Retry-After"]
    assert (await client.post("/storage/cache/cleanup")).status == 503

    ready = await client.get("/ready")
    assert ready.status == 503 and ready.headers["Retry-After"]
    assert "redis" in (await ready.json())["detail"]

    # Everything that does not need the cache works.
    health = await client.get("/health")
    assert health.status == 200
    assert (await health.json())["backends"]["cache"] == "redis"
    session = await create_session(client)
    assert (await client.get(f"/storage/sessions/{session['id']}")).status == 200


async def assert_redis_is_back(client) -> None:
    assert (await client.get("/ready")).status == 200
    put = await client.put("/storage/cache/k", json={"value": 1})
    assert put.status == 200, await put.text()
    assert (await (await client.get("/storage/cache/k")).json())["value"] == 1


# Regression: a Redis that is down at start, or stops later, never stops the service nor answers 500.
async def test_redis_down_at_start_then_stopped_mid_run_and_back(client, redis_server):
    await assert_redis_is_down(client)

    await redis_server.start()
    await assert_redis_is_back(client)

    await redis_server.stop()
    await assert_redis_is_down(client)

    await redis_server.start()
    await assert_redis_is_back(client)
