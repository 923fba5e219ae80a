"""Reads on a streaming standby: never older than what the client wrote, and the primary when it must.

A private primary and standby (tests/postgres/replication.py), shared by the
tests here that leave both running; the standby's replay is paused on purpose
to make it lag.
"""

from __future__ import annotations

import asyncio

import pytest
from vault.store.positions import parse_lsn

from tests.conftest import add_message, create_session
from tests.postgres.replication import (
    Pair,
    execute,
    reads_by_server,
    running_pair,
    wait_caught_up,
    wait_for,
    wait_streaming,
)
from tests.process.conftest import free_port
from tests.test_cli import vault
from vault.app import create_app
from vault.appkeys import STORE

PAIRS = 1000


@pytest.fixture(scope="module")
def pair():
    yield from running_pair()


@pytest.fixture
async def replica_paused(pair: Pair):
    await wait_streaming(pair)
    await execute(pair.standby.dsn, "SELECT pg_wal_replay_pause()")
    try:
        yield
    finally:
        await execute(pair.standby.dsn, "SELECT pg_wal_replay_resume()")


async def newest(client, session_id: str, **headers: str) -> list[dict]:
    response = await client.get("/storage/history", params={"session_id": session_id, "limit": "1"}, headers=headers)
    assert response.status == 200, await response.text()
    return await response.json()


# Rule: every client of one instance reads its own writes, though reads go to a replica.
@pytest.mark.timeout(300)
async def test_a_read_right_after_a_write_sees_it_and_replicas_serve_reads(aiohttp_client, tmp_path, pair):
    await wait_streaming(pair)
    client = await aiohttp_client(create_app(pair.config(tmp_path)))
    session = (await create_session(client))["id"]
    before = await reads_by_server(client)
    for number in range(PAIRS):
        written = await add_message(client, session, f"message {number}")
        assert [message["id"] for message in await newest(client, session)] == [written["id"]]
    after = await reads_by_server(client)
    served = {server: after.get(server, 0) - before.get(server, 0) for server in after}
    assert served[pair.standby.host] > 0, served
    assert served[pair.standby.host] + served["primary"] >= PAIRS


# Rule: a replica that has not replayed a write never answers the read after it; the primary does.
async def test_reads_fall_back_to_the_primary_while_replay_is_paused(aiohttp_client, tmp_path, pair, replica_paused):
    client = await aiohttp_client(create_app(pair.config(tmp_path)))
    session = (await create_session(client))["id"]
    before = await reads_by_server(client)
    for number in range(30):
        written = await add_message(client, session, f"while paused {number}")
        assert [message["id"] for message in await newest(client, session)] == [written["id"]]
    after = await reads_by_server(client)
    assert after[pair.standby.host] == before.get(pair.standby.host, 0)
    assert after["primary"] - before.get("primary", 0) >= 30


# Rule: Vault-Min-LSN from a write through another instance is honoured; Vault-Commit-LSN names it.
async def test_vault_min_lsn_from_another_instance_is_honoured(aiohttp_client, tmp_path, pair, replica_paused):
    writer = await aiohttp_client(create_app(pair.config(tmp_path)))
    reader = await aiohttp_client(create_app(pair.config(tmp_path)))
    session = await writer.post("/storage/sessions", json={"agent_name": "a"})
    assert session.status == 201
    position = session.headers["Vault-Commit-LSN"]
    assert parse_lsn(position) > 0
    session_id = (await session.json())["id"]

    # The control: without the header the other instance's replica has not seen the session.
    assert (await reader.get(f"/storage/sessions/{session_id}")).status == 404
    answer = await reader.get(f"/storage/sessions/{session_id}", headers={"Vault-Min-LSN": position})
    assert answer.status == 200, await answer.text()
    assert "Vault-Commit-LSN" not in answer.headers


async def test_a_replica_that_catches_up_serves_reads_again(aiohttp_client, tmp_path, pair):
    await wait_streaming(pair)
    client = await aiohttp_client(create_app(pair.config(tmp_path)))
    session = (await create_session(client))["id"]
    await wait_caught_up(pair)
    before = (await reads_by_server(client)).get(pair.standby.host, 0)

    async def served_by_replica() -> bool:
        await newest(client, session)
        return (await reads_by_server(client)).get(pair.standby.host, 0) > before

    await wait_for(served_by_replica, "a read served by the replica")


async def test_ready_and_metrics_list_the_replica(aiohttp_client, tmp_path, pair):
    await wait_streaming(pair)
    client = await aiohttp_client(create_app(pair.config(tmp_path)))
    body = await (await client.get("/ready")).json()
    assert body["status"] == "ready"
    assert [(replica["name"], replica["state"]) for replica in body["replicas"]] == [(pair.standby.host, "up")]
    metrics = await (await client.get("/metrics")).text()
    for series in ("vault_replica_up", "vault_replica_lag_bytes", "vault_replica_lag_seconds"):
        assert f'{series}{{replica="{pair.standby.host}"}}' in metrics


# Rule: with several hosts named, writes and job locks go to the one that takes writes, whichever is listed first.
async def test_writes_and_job_locks_find_the_primary_listed_second(aiohttp_client, tmp_path, pair):
    url = f"postgresql://postgres@{pair.standby.host},{pair.primary.host}/postgres"
    client = await aiohttp_client(create_app(pair.config(tmp_path, database_url=url)))
    session = (await create_session(client))["id"]
    await add_message(client, session)
    async with client.app[STORE].job_lock("replica-test-job", 0) as acquired:
        assert acquired


# Rule: `vault check` reports each replica: a line for one that is up, a PROBLEM and exit 1 for one that is not.
async def test_check_reports_each_replica(pair, tmp_path):
    down = f"127.0.0.1:{free_port()}"
    nowhere = f"postgresql://postgres@{down}/postgres"
    env = {
        "VAULT_DATABASE_URL": pair.both_hosts_url,
        "VAULT_DATABASE_REPLICA_URLS": f"{pair.standby.dsn},{nowhere}",
        "VAULT_ARTIFACT_DIR": str(tmp_path / "artifacts"),
    }
    check = await asyncio.to_thread(vault, "check", "--db-path", str(tmp_path / "unused.db"), env=env)
    assert check.returncode == 1, check.stdout + check.stderr
    lines = check.stdout.splitlines()
    assert lines[0].endswith("the database answers")
    assert any(line.startswith(f"replica {pair.standby.host}: up, replayed to ") for line in lines), lines
    assert f"PROBLEM: replica {down}: down, serves no reads" in lines
