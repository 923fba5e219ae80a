"""`/metrics` with the cache on Redis: each call's latency and each failure, by operation."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.redistemp import PrivateRedis, private_prefix, private_redis
from vault.app import create_app
from vault.config import Config


async def scrape(client) -> dict:
    response = await client.get("/metrics")
    assert response.status == 200
    return {family.name: family for family in text_string_to_metric_families(await response.text())}


def by_operation(family, suffix: str) -> dict[str, float]:
    return {s.labels["operation"]: s.value for s in family.samples if s.name == family.name + suffix}


@pytest.fixture
async def shared_redis_client(aiohttp_client, db_path) -> AsyncIterator:
    async with private_prefix() as (url, prefix):
        yield await aiohttp_client(create_app(Config(db_path=db_path, cache_url=url, redis_prefix=prefix)))


@pytest.fixture
async def stopped_redis() -> AsyncIterator[PrivateRedis]:
    async with private_redis() as server:
        yield server


# Rule: every call to Redis is timed on /metrics under its operation; an answered call is no error.
async def test_redis_calls_are_timed_by_operation(shared_redis_client):
    client = shared_redis_client
    assert (await client.put("/storage/cache/k", json={"value": 1})).status == 200
    assert (await client.get("/storage/cache/k")).status == 200
    assert (await client.get("/storage/cache/k")).status == 200
    assert (await client.delete("/storage/cache/k")).status == 200
    families = await scrape(client)
    counts = by_operation(families["vault_redis_call_duration_seconds"], "_count")
    assert counts["cache_set"] == 1 and counts["cache_get"] == 2 and counts["cache_delete"] == 1
    assert by_operation(families["vault_redis_errors"], "_total") == {}


# Rule: a call Redis does not answer is counted as an error under its operation, and timed too.
async def test_redis_failures_are_counted_by_operation(aiohttp_client, db_path, stopped_redis):
    client = await aiohttp_client(create_app(Config(db_path=db_path, cache_url=stopped_redis.url)))
    assert (await client.put("/storage/cache/k", json={"value": 1})).status == 503
    assert (await client.get("/storage/cache/k")).status == 503
    families = await scrape(client)
    assert by_operation(families["vault_redis_errors"], "_total") == {"cache_set": 1, "cache_get": 1}
    counts = by_operation(families["vault_redis_call_duration_seconds"], "_count")
    assert counts["cache_set"] == 1 and counts["cache_get"] == 1
