"""Two app instances, each with its own pool, behind one PostgreSQL database.

Requests alternate between the instances and run concurrently, as a load
balancer would send them; every contract rule must hold across instances.
"""

from __future__ import annotations

import asyncio
from itertools import cycle
from typing import Any

import asyncpg
import pytest
from attrs import evolve
from vault.store.postgres import migrations
from vault.store.postgres.store import PostgresStore

from tests.conftest import create_session
from tests.postgres.conftest import new_store
from tests.redistemp import private_prefix
from vault.app import create_app
from vault.appkeys import JOBS


async def read_history(client, session_id: str) -> list[dict[str, Any]]:
    response = await client.get("/storage/history", params={"session_id": session_id, "limit": "1000"})
    assert response.status == 200, await response.text()
    return await response.json()


async def test_health_names_the_postgresql_backend(two_clients):
    for client in two_clients:
        body = await (await client.get("/health")).json()
        assert body["backend"] == "postgresql"


# Rule: seq counts 1, 2, 3... per session with no gaps or duplicates while several instances append.
async def test_concurrent_appends_through_two_instances_number_seq_without_gaps(two_clients):
    session = await create_session(two_clients[0])
    instances = cycle(two_clients)

    async def append(n: int) -> list[int]:
        client = next(instances)
        if n % 5 == 0:
            body = {
                "session_id": session["id"],
                "messages": [{"role": "user", "content": f"b{n}-{k}"} for k in range(3)],
            }
            response = await client.post("/storage/history/batch", json=body)
            assert response.status == 201, await response.text()
            return [m["seq"] for m in await response.json()]
        body = {"session_id": session["id"], "role": "user", "content": f"m{n}"}
        response = await client.post("/storage/history", json=body)
        assert response.status == 201, await response.text()
        return [(await response.json())["seq"]]

    answered = await asyncio.gather(*(append(n) for n in range(60)))

    total = sum(len(seqs) for seqs in answered)
    assert sorted(seq for seqs in answered for seq in seqs) == list(range(1, total + 1))
    # A batch's messages are consecutive: nothing from the other instance lands inside one.
    for seqs in answered:
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
    for client in two_clients:
        assert [m["seq"] for m in await read_history(client, session["id"])] == list(range(1, total + 1))
        assert (await (await client.get(f"/storage/sessions/{session['id']}")).json())["message_count"] == total


# Two instances on one database, with state in it or in one Redis they share.
@pytest.fixture(params=["database", "redis"])
async def two_state_clients(request, aiohttp_client, pg_config):
    if request.param == "database":
        yield await aiohttp_client(create_app(pg_config)), await aiohttp_client(create_app(pg_config))
        return
    async with private_prefix() as (url, prefix):
        config = evolve(pg_config, state_url=url, redis_prefix=prefix)
        yield await aiohttp_client(create_app(config)), await aiohttp_client(create_app(config))


# Rule: If-Match on state is enforced across instances: one writer per version wins.
async def test_if_match_lets_exactly_one_instance_win(two_state_clients):
    two_clients = two_state_clients
    first, second = two_clients
    session = await create_session(first)
    url = f"/storage/state/{session['id']}"
    instances = cycle(two_clients)

    responses = await asyncio.gather(
        *(next(instances).put(url, json={"data": {"writer": n}}, headers={"If-Match": '"0"'}) for n in range(12))
    )

    statuses = sorted(response.status for response in responses)
    assert statuses == [200] + [412] * 11
    [winner] = [await r.json() for r in responses if r.status == 200]
    for response in responses:
        if response.status == 412:
            assert (await response.json())["current"]["version"] == 1
    # The version one instance wrote is the one the other checks against.
    stale = await second.put(url, json={"data": {"late": True}}, headers={"If-Match": '"0"'})
    assert stale.status == 412
    fresh = await second.put(url, json={"data": {"next": True}}, headers={"If-Match": '"1"'})
    assert fresh.status == 200, await fresh.text()
    assert (await (await first.get(url)).json())["data"] == {"next": True}
    assert winner["version"] == 1


# Rule: merge patches are atomic: concurrent partial updates through both instances never lose each other.
async def test_merge_patches_through_two_instances_all_survive(two_state_clients):
    two_clients = two_state_clients
    first, _ = two_clients
    session = await create_session(first)
    url = f"/storage/state/{session['id']}"
    instances = cycle(two_clients)

    responses = await asyncio.gather(*(next(instances).patch(url, json={"data": {f"k{n}": n}}) for n in range(40)))

    assert all(response.status == 200 for response in responses)
    state = await (await first.get(url)).json()
    assert state["data"] == {f"k{n}": n for n in range(40)}
    assert state["version"] == 40


# Rule: an Idempotency-Key writes once, whichever instances the retries reach.
async def test_idempotency_key_writes_once_across_instances(two_clients):
    first, second = two_clients
    instances = cycle(two_clients)
    body = {"agent_name": "retried", "user_id": "u1"}
    headers = {"Idempotency-Key": "create-once"}

    responses = await asyncio.gather(
        *(next(instances).post("/storage/sessions", json=body, headers=headers) for _ in range(10))
    )

    answers = [await response.json() for response in responses]
    assert {response.status for response in responses} == {201}
    assert all(answer == answers[0] for answer in answers)
    listed = await (await second.get("/storage/sessions", params={"agent_name": "retried"})).json()
    assert [s["id"] for s in listed] == [answers[0]["id"]]
    other = await first.post("/storage/sessions", json={"agent_name": "other"}, headers=headers)
    assert other.status == 422
    assert (await other.json())["error"] == "idempotency_key_reused"


# Rule: deleting a session cascades atomically, even while another instance appends to it.
async def test_cascade_delete_while_the_other_instance_appends(two_clients, database_url):
    first, second = two_clients
    session = await create_session(first)
    sid = session["id"]
    await first.put(f"/storage/state/{sid}", json={"data": {"k": 1}})
    await first.post("/storage/artifacts", json={"session_id": sid, "name": "a.txt"})
    await first.post("/storage/metrics", json={"entity_name": "e", "metric_name": "m", "value": 1, "session_id": sid})

    async def append(n: int) -> int:
        response = await second.post("/storage/history", json={"session_id": sid, "role": "user", "content": f"{n}"})
        return response.status

    async def delete() -> int:
        return (await first.delete(f"/storage/sessions/{sid}")).status

    *appended, deleted = await asyncio.gather(*(append(n) for n in range(20)), delete())

    assert deleted == 200
    assert set(appended) <= {201, 404}
    conn = await asyncpg.connect(database_url)
    try:
        for table in ("messages", "state", "artifacts", "metrics"):
            assert await conn.fetchval(f"SELECT count(*) FROM {table} WHERE session_id = $1", sid) == 0, table
    finally:
        await conn.close()
    assert (await second.post("/storage/history", json={"session_id": sid, "role": "user"})).status == 404


# Rule: instances starting together apply each migration once (an advisory lock orders them).
async def test_instances_starting_together_migrate_once(database_url, tmp_path):
    stores: list[PostgresStore] = [new_store(database_url, tmp_path) for _ in range(3)]

    await asyncio.gather(*(store.start() for store in stores))
    try:
        applied = [migration.version for store in stores for migration in store.applied_migrations]
        assert sorted(applied) == [m.version for m in migrations.MIGRATIONS]
        conn = await asyncpg.connect(database_url)
        try:
            recorded = [row["version"] for row in await conn.fetch("SELECT version FROM schema_migrations")]
        finally:
            await conn.close()
        assert sorted(recorded) == [m.version for m in migrations.MIGRATIONS]
    finally:
        for store in stores:
            await store.close()


# Rule: each scheduled job of the app runs once per interval across instances, not once per instance.
async def test_the_apps_jobs_run_on_one_instance_per_interval(two_clients):
    runners = [client.app[JOBS] for client in two_clients]

    for job_id in ("cache-expiry", "metric-rollups", "idempotency-expiry"):
        await asyncio.gather(*(runner.run(job_id) for runner in runners))
        await asyncio.gather(*(runner.run(job_id) for runner in runners))

        statuses = [runner.status(job_id) for runner in runners]
        assert sum(status.runs for status in statuses) == 1, job_id
        assert sum(status.skipped for status in statuses) == 3, job_id
    for client in two_clients:
        jobs = await (await client.get("/storage/admin/jobs")).json()
        assert {job["last_outcome"] for job in jobs} <= {"ok", "skipped", None}
