"""`/metrics` on PostgreSQL: the database's size, the pool's state, and no `_created` series."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from prometheus_client.parser import text_string_to_metric_families
from vault.store.postgres.connection import APPLICATION_NAME

from tests.conftest import create_session
from vault.app import create_app

# Liveness bound only: how long a blocked request may take to reach its lock.
BLOCKS_WITHIN = 30


@pytest.fixture
async def client(aiohttp_client, pg_config):
    return await aiohttp_client(create_app(pg_config))


async def scrape(client) -> tuple[str, dict]:
    response = await client.get("/metrics")
    assert response.status == 200
    text = await response.text()
    return text, {family.name: family for family in text_string_to_metric_families(text)}


def values(family, **labels: str) -> list[float]:
    return [s.value for s in family.samples if all(s.labels.get(k) == v for k, v in labels.items())]


# Rule: on PostgreSQL the database size gauge carries pg_database_size, read at scrape time.
async def test_the_database_size_is_reported(client, database_url):
    await create_session(client)
    _, families = await scrape(client)
    conn = await asyncpg.connect(database_url)
    try:
        size = await conn.fetchval("SELECT pg_database_size(current_database())")
    finally:
        await conn.close()
    (reported,) = values(families["vault_database_file_bytes"], file="database")
    # The database may grow a page between the two reads; it is the same order of size.
    assert size // 2 < reported <= size * 2


# Rule: the pool's connections in use, idle and its callers waiting are on /metrics (a full pool is overload).
async def test_the_pool_gauges_show_a_connection_in_use(client, database_url):
    session = await create_session(client)
    _, families = await scrape(client)
    assert values(families["vault_database_pool_max_connections"]) == [4]
    assert values(families["vault_database_pool_waiting"]) == [0]

    outside = await asyncpg.connect(database_url)
    try:
        transaction = outside.transaction()
        await transaction.start()
        await outside.execute("LOCK TABLE sessions IN ACCESS EXCLUSIVE MODE")
        blocked = asyncio.create_task(client.get(f"/storage/sessions/{session['id']}"))
        async with asyncio.timeout(BLOCKS_WITHIN):
            while not await outside.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'",
                APPLICATION_NAME,
            ):
                await asyncio.sleep(0.01)
        _, families = await scrape(client)
        await transaction.rollback()
        assert (await blocked).status == 200
    finally:
        await outside.close()
    (in_use,) = values(families["vault_database_pool_connections"], state="in_use")
    (idle,) = values(families["vault_database_pool_connections"], state="idle")
    assert in_use >= 1
    assert in_use + idle <= 4


# Rule: counters and histograms carry no `_created` series (they doubled the output).
async def test_no_created_series(client):
    await create_session(client)
    text, _ = await scrape(client)
    names = {line.split("{")[0].split(" ")[0] for line in text.splitlines() if line and not line.startswith("#")}
    assert "vault_http_requests_total" in names
    assert not [name for name in names if name.endswith("_created")]
